//! `commute serve`'s IC interface driven by the unchanged `ic-agent` crate, with its
//! default checks on (certificates, query signatures): the root key, pure updates as an
//! Ed25519, secp256k1, P-256 and delegated identity and as anonymous, their effect seen by
//! queries, an ordinary update's reply, the signed principal as `msg_caller`, and the IC's
//! reject codes. Then forged requests, refused with a 400 naming the check, queue nothing;
//! the v2 call endpoint; a restart that keeps the server's identity; who may read a call's
//! status; pages of other origins; `--no-json-caller`.

use candid::{Decode, Encode, Principal};
use commute::registry::principal_of;
use commute::Host;
use commute_examples::LOGGER;
use commute_serve::{ServeConfig, Server, Signals};
use ic_agent::agent::{RejectCode, RejectResponse};
use ic_agent::identity::{
    AnonymousIdentity, BasicIdentity, DelegatedIdentity, Prime256v1Identity, Secp256k1Identity,
};
use ic_agent::{Agent, AgentError, Identity};
use ic_transport_types::{Delegation, Envelope, EnvelopeContent, SignedDelegation};
use std::borrow::Cow;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// A server on a temporary host with the logger and the whoami guest installed; its data
/// dir.
fn server() -> (Server, PathBuf) {
    server_with(ServeConfig::default())
}

fn server_with(config: ServeConfig) -> (Server, PathBuf) {
    let mut host = Host::temporary().unwrap();
    host.install("logger", LOGGER.wasm, LOGGER.did_file(), None)
        .unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/guests");
    let wasm = wat::parse_file(dir.join("whoami.wat")).unwrap();
    let did = std::fs::read_to_string(dir.join("whoami.did")).unwrap();
    host.install("whoami", &wasm, Some(("whoami.did", &did)), None)
        .unwrap();
    let data = host.data_dir().to_path_buf();
    let listen = "127.0.0.1:0".parse().unwrap();
    let server = Server::start_with(host, listen, Signals::Ignore, config).unwrap();
    (server, data)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An agent of `identity` that has fetched the server's root key, as `dfx` does locally.
async fn agent_of(server: &Server, identity: Box<dyn Identity>) -> Agent {
    let agent = Agent::builder()
        .with_url(server.url())
        .with_boxed_identity(identity)
        .build()
        .unwrap();
    agent.fetch_root_key().await.unwrap();
    agent
}

fn ed25519(seed: u8) -> BasicIdentity {
    BasicIdentity::from_raw_key(&[seed; 32])
}

async fn whoami(agent: &Agent) -> Principal {
    let id = principal_of("whoami");
    let bytes = agent
        .query(&id, "whoami")
        .with_arg(Encode!().unwrap())
        .call()
        .await
        .unwrap();
    Decode!(&bytes, Principal).unwrap()
}

async fn tally(agent: &Agent) {
    let id = principal_of("whoami");
    let reply = agent
        .update(&id, "tally")
        .with_arg(Encode!().unwrap())
        .call_and_wait()
        .await
        .unwrap();
    Decode!(&reply).unwrap();
}

async fn my_tally(agent: &Agent) -> u64 {
    let id = principal_of("whoami");
    let bytes = agent
        .query(&id, "my_tally")
        .with_arg(Encode!().unwrap())
        .call()
        .await
        .unwrap();
    Decode!(&bytes, u64).unwrap()
}

#[test]
fn ic_agent_calls_queries_and_updates_as_signed_and_anonymous_senders() {
    let (server, data) = server();
    runtime().block_on(async {
        let signed = agent_of(&server, Box::new(ed25519(7))).await;
        let me = ed25519(7).sender().unwrap();
        // The root key the agent fetched is the one the data dir keeps.
        let keys = commute_serve::ic::Keys::load_or_create(&data).unwrap();
        assert_eq!(signed.read_root_key(), keys.root_der());
        let status = signed.status().await.unwrap();
        assert_eq!(status.replica_health_status.as_deref(), Some("healthy"));

        // A pure update, certified once durable, and its effect.
        tally(&signed).await;
        tally(&signed).await;
        assert_eq!(my_tally(&signed).await, 2);
        let anonymous = agent_of(&server, Box::new(AnonymousIdentity)).await;
        tally(&anonymous).await;
        assert_eq!(my_tally(&anonymous).await, 1);
        assert_eq!(my_tally(&signed).await, 2);

        // The logger, as any client would use it.
        let logger = principal_of("logger");
        let reply = signed
            .update(&logger, "log")
            .with_arg(Encode!(&me, &"signed in").unwrap())
            .call_and_wait()
            .await
            .unwrap();
        Decode!(&reply).unwrap();
        let count = signed
            .query(&logger, "count")
            .with_arg(Encode!(&me).unwrap())
            .call()
            .await
            .unwrap();
        assert_eq!(Decode!(&count, u64).unwrap(), 1);

        // The signed principal is msg_caller, in a query and in an update's reply.
        assert_eq!(whoami(&signed).await, me);
        assert_eq!(whoami(&anonymous).await, Principal::anonymous());
        let reply = signed
            .update(&principal_of("whoami"), "whoami_update")
            .with_arg(Encode!().unwrap())
            .call_and_wait()
            .await
            .unwrap();
        assert_eq!(Decode!(&reply, Principal).unwrap(), me);
    });
    server.stop().unwrap();
}

#[test]
fn ecdsa_and_delegated_senders_are_msg_caller() {
    let (server, _data) = server();
    runtime().block_on(async {
        let k1 =
            Secp256k1Identity::from_private_key(k256::SecretKey::from_slice(&[3; 32]).unwrap());
        let k1_principal = k1.sender().unwrap();
        let k1 = agent_of(&server, Box::new(k1)).await;
        assert_eq!(whoami(&k1).await, k1_principal);
        tally(&k1).await;
        assert_eq!(my_tally(&k1).await, 1);

        let p =
            Prime256v1Identity::from_private_key(p256::SecretKey::from_slice(&[5; 32]).unwrap());
        let p_principal = p.sender().unwrap();
        let p = agent_of(&server, Box::new(p)).await;
        assert_eq!(whoami(&p).await, p_principal);

        // A chain root -> middle -> session, as a login service hands a session key.
        let (root, middle, session) = (ed25519(11), ed25519(12), ed25519(13));
        let expiration = now() + 60_000_000_000;
        let link = |from: &BasicIdentity, to: &BasicIdentity| {
            let delegation = Delegation {
                pubkey: to.public_key().unwrap(),
                expiration,
                targets: None,
                permissions: None,
            };
            let signature = from.sign_delegation(&delegation).unwrap();
            SignedDelegation {
                delegation,
                signature: signature.signature.unwrap(),
            }
        };
        let chain = vec![link(&root, &middle), link(&middle, &session)];
        let delegated =
            DelegatedIdentity::new_unchecked(root.public_key().unwrap(), Box::new(session), chain);
        let delegated = agent_of(&server, Box::new(delegated)).await;
        assert_eq!(whoami(&delegated).await, root.sender().unwrap());
        tally(&delegated).await;
        assert_eq!(my_tally(&delegated).await, 1);
    });
    server.stop().unwrap();
}

#[test]
fn rejects_carry_the_ic_codes() {
    let (server, _data) = server();
    runtime().block_on(async {
        let agent = agent_of(&server, Box::new(AnonymousIdentity)).await;
        let id = principal_of("whoami");
        let reject = |e: AgentError| match e {
            AgentError::UncertifiedReject { reject, .. }
            | AgentError::CertifiedReject { reject, .. } => reject,
            other => panic!("not a reject: {other}"),
        };
        let e = agent
            .query(&id, "nothing")
            .with_arg(Encode!().unwrap())
            .call()
            .await
            .unwrap_err();
        let RejectResponse {
            reject_code,
            error_code,
            ..
        } = reject(e);
        assert_eq!(reject_code, RejectCode::DestinationInvalid);
        assert_eq!(error_code.as_deref(), Some("IC0302"));

        let nobody = Principal::from_slice(&[9; 10]);
        let e = agent
            .update(&nobody, "tally")
            .with_arg(Encode!().unwrap())
            .call_and_wait()
            .await
            .unwrap_err();
        let r = reject(e);
        assert_eq!(r.reject_code, RejectCode::DestinationInvalid);
        assert_eq!(r.error_code.as_deref(), Some("IC0301"));

        // An argument of the wrong type, as a canister's decoding trap would report it.
        let e = agent
            .update(&principal_of("logger"), "log")
            .with_arg(Encode!(&1u8).unwrap())
            .call_and_wait()
            .await
            .unwrap_err();
        let r = reject(e);
        assert_eq!(r.reject_code, RejectCode::CanisterError);
        assert_eq!(r.error_code.as_deref(), Some("IC0503"));

        // A pure update that traps is rejected, certified, once its round is durable; its
        // writes are dropped.
        let e = agent
            .update(&id, "boom")
            .with_arg(Encode!().unwrap())
            .call_and_wait()
            .await
            .unwrap_err();
        assert!(matches!(e, AgentError::CertifiedReject { .. }), "{e}");
        let r = reject(e);
        assert_eq!(r.reject_code, RejectCode::CanisterError);
        assert_eq!(r.error_code.as_deref(), Some("IC0503"));
        assert!(r.reject_message.contains("boom"), "{}", r.reject_message);
        assert_eq!(my_tally(&agent).await, 0);
    });
    server.stop().unwrap();
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// POSTs `envelope` to the v3 call endpoint of `canister`: the status and the body.
fn post(server: &Server, canister: Principal, envelope: &Envelope<'_>) -> (u16, String) {
    let url = format!("{}/api/v3/canister/{canister}/call", server.url());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(&url)
        .header("content-type", "application/cbor")
        .send(&envelope.encode_bytes()[..])
        .unwrap();
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_vec().unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A `tally` call by `sender`, expiring at `expiry`.
fn tally_content(sender: Principal, expiry: u64) -> EnvelopeContent {
    EnvelopeContent::Call {
        nonce: None,
        ingress_expiry: expiry,
        sender,
        canister_id: principal_of("whoami"),
        method_name: "tally".into(),
        arg: Encode!().unwrap(),
        sender_info: None,
    }
}

/// `content` signed by `signer`, claiming `pubkey` as the sender's key.
fn envelope(content: EnvelopeContent, signer: &dyn Identity, pubkey: Vec<u8>) -> Envelope<'static> {
    let sig = signer.sign(&content).unwrap();
    Envelope {
        content: Cow::Owned(content),
        sender_pubkey: Some(pubkey),
        sender_sig: sig.signature,
        sender_delegation: None,
    }
}

/// The seq the server's queue gives its next call.
fn next_seq(server: &Server) -> u64 {
    let body = ureq::get(format!("{}/health", server.url()))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    health["next_seq"].as_u64().unwrap()
}

#[test]
fn forged_requests_are_refused_naming_the_check_and_change_nothing() {
    let (server, _data) = server();
    let (alice, mallory) = (ed25519(21), ed25519(22));
    let alice_key = alice.public_key().unwrap();
    let alice_id = alice.sender().unwrap();
    let id = principal_of("whoami");
    let later = now() + 60_000_000_000;
    let queued_before = next_seq(&server);

    // Alice's request, signed by another key.
    let forged = envelope(tally_content(alice_id, later), &mallory, alice_key.clone());
    let (status, body) = post(&server, id, &forged);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid signature: the sender_sig"), "{body}");

    // A sender that is not its key's principal.
    let claimed = ed25519(23).sender().unwrap();
    let forged = envelope(tally_content(claimed, later), &alice, alice_key.clone());
    let (status, body) = post(&server, id, &forged);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("does not match its key"), "{body}");

    // An expired request, correctly signed.
    let expired = envelope(
        tally_content(alice_id, now() - 1_000_000_000),
        &alice,
        alice_key.clone(),
    );
    let (status, body) = post(&server, id, &expired);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("request expired"), "{body}");

    // A delegation signed by another key than the sender's.
    let session = ed25519(24);
    let delegation = Delegation {
        pubkey: session.public_key().unwrap(),
        expiration: later,
        targets: None,
        permissions: None,
    };
    let signature = mallory
        .sign_delegation(&delegation)
        .unwrap()
        .signature
        .unwrap();
    let content = tally_content(alice_id, later);
    let mut forged = envelope(content, &session, alice_key.clone());
    forged.sender_delegation = Some(vec![SignedDelegation {
        delegation,
        signature,
    }]);
    let (status, body) = post(&server, id, &forged);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("delegation signature"), "{body}");

    // None was queued: Alice's tally is still 0, and her genuine request still runs.
    let (status, body) = post(
        &server,
        id,
        &envelope(tally_content(alice_id, later), &alice, alice_key),
    );
    assert_eq!(status, 200, "{body}");
    runtime().block_on(async {
        let alice = agent_of(&server, Box::new(alice)).await;
        assert_eq!(my_tally(&alice).await, 1);
    });
    assert_eq!(
        next_seq(&server),
        queued_before + 1,
        "only the genuine call was queued"
    );
    server.stop().unwrap();
}

#[test]
fn with_json_caller_off_only_verified_senders_are_callers() {
    let (server, _data) = server_with(ServeConfig {
        json_caller: false,
        ..ServeConfig::default()
    });
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let json = |query: &str| {
        let url = format!("{}/query/whoami/whoami{query}", server.url());
        let mut response = agent
            .post(&url)
            .header("content-type", "text/x-candid")
            .send("()")
            .unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    };
    let (status, body) = json("?caller=aaaaa-aa");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("--no-json-caller"), "{body}");
    let (status, body) = json("");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("2vxsx-fae"), "the anonymous caller: {body}");
    runtime().block_on(async {
        let signed = agent_of(&server, Box::new(ed25519(31))).await;
        assert_eq!(whoami(&signed).await, ed25519(31).sender().unwrap());
    });
    server.stop().unwrap();
}

#[test]
fn pages_of_any_origin_reach_the_ic_interface_and_only_it() {
    let (server, _data) = server();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let page = "http://localhost:5173";
    // A front end on a dev server: the preflight is granted, the answer readable.
    let preflight = agent
        .options(format!(
            "{}/api/v3/canister/{}/call",
            server.url(),
            principal_of("whoami")
        ))
        .header("origin", page)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .call()
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    let allowed = |r: &ureq::http::Response<ureq::Body>, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(
        allowed(&preflight, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    assert!(allowed(&preflight, "access-control-allow-headers")
        .unwrap()
        .contains("content-type"));
    let status = agent
        .get(format!("{}/api/v2/status", server.url()))
        .header("origin", page)
        .call()
        .unwrap();
    assert_eq!(status.status().as_u16(), 200);
    assert_eq!(
        allowed(&status, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    // The JSON API stays closed to other origins.
    let json = agent
        .get(format!("{}/root", server.url()))
        .header("origin", page)
        .call()
        .unwrap();
    assert_eq!(json.status().as_u16(), 403);
    // And a rebound DNS name is refused everywhere.
    let rebound = agent
        .get(format!("{}/api/v2/status", server.url()))
        .header("host", "evil.example:4943")
        .call()
        .unwrap();
    assert_eq!(rebound.status().as_u16(), 403);
    server.stop().unwrap();
}

#[test]
fn a_restarted_server_keeps_its_identity_and_a_resent_call_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        let mut host = Host::open(dir.path()).unwrap();
        let guests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/guests");
        let wasm = wat::parse_file(guests.join("whoami.wat")).unwrap();
        let did = std::fs::read_to_string(guests.join("whoami.did")).unwrap();
        host.install("whoami", &wasm, Some(("whoami.did", &did)), None)
            .unwrap();
        let listen = "127.0.0.1:0".parse().unwrap();
        Server::start(host, listen, Signals::Ignore).unwrap()
    };
    let alice = ed25519(41);
    let signed = envelope(
        tally_content(alice.sender().unwrap(), now() + 60_000_000_000),
        &alice,
        alice.public_key().unwrap(),
    );
    let first = start();
    let root_key = runtime().block_on(async {
        let agent = agent_of(&first, Box::new(ed25519(41))).await;
        agent.read_root_key()
    });
    assert_eq!(post(&first, principal_of("whoami"), &signed).0, 200);
    first.stop().unwrap();

    let second = start();
    // The same request again, after the restart: answered, not run again.
    assert_eq!(post(&second, principal_of("whoami"), &signed).0, 200);
    runtime().block_on(async {
        // An agent that kept the first server's root key trusts the second's certificates.
        let agent = Agent::builder()
            .with_url(second.url())
            .with_identity(ed25519(41))
            .build()
            .unwrap();
        agent.set_root_key(root_key);
        assert_eq!(my_tally(&agent).await, 1);
    });
    second.stop().unwrap();
}

#[test]
fn a_call_status_is_its_senders_alone() {
    let (server, _data) = server();
    let alice = ed25519(51);
    let content = tally_content(alice.sender().unwrap(), now() + 60_000_000_000);
    let request_id = content.to_request_id();
    let signed = envelope(content, &alice, alice.public_key().unwrap());
    assert_eq!(post(&server, principal_of("whoami"), &signed).0, 200);
    runtime().block_on(async {
        let id = principal_of("whoami");
        let alice = agent_of(&server, Box::new(ed25519(51))).await;
        let (status, _certificate) = alice.request_status_raw(&request_id, id).await.unwrap();
        assert!(
            matches!(status, ic_agent::agent::RequestStatusResponse::Replied(_)),
            "{status:?}"
        );
        let bob = agent_of(&server, Box::new(ed25519(52))).await;
        let e = bob.request_status_raw(&request_id, id).await.unwrap_err();
        assert!(e.to_string().contains("403"), "{e}");
    });
    server.stop().unwrap();
}

#[test]
fn a_v2_call_is_accepted_at_once_and_polled_to_its_reply() {
    let (server, _data) = server();
    let alice = ed25519(61);
    let content = tally_content(alice.sender().unwrap(), now() + 60_000_000_000);
    let request_id = content.to_request_id();
    let signed = envelope(content, &alice, alice.public_key().unwrap());
    let url = format!(
        "{}/api/v2/canister/{}/call",
        server.url(),
        principal_of("whoami")
    );
    let mut response = ureq::post(&url)
        .header("content-type", "application/cbor")
        .send(&signed.encode_bytes()[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    assert!(response.body_mut().read_to_vec().unwrap().is_empty());
    runtime().block_on(async {
        let agent = agent_of(&server, Box::new(ed25519(61))).await;
        let reply = agent
            .wait(&request_id, principal_of("whoami"))
            .await
            .unwrap();
        Decode!(&reply.0).unwrap();
        assert_eq!(my_tally(&agent).await, 1);
    });
    server.stop().unwrap();
}

/// `install_code`'s argument as the IC's management canister declares it.
#[derive(candid::CandidType, candid::Deserialize)]
struct InstallCode {
    mode: Mode,
    canister_id: Principal,
    #[serde(with = "serde_bytes")]
    wasm_module: Vec<u8>,
    #[serde(with = "serde_bytes")]
    arg: Vec<u8>,
    sender_canister_version: Option<u64>,
}

#[derive(candid::CandidType, candid::Deserialize)]
enum Mode {
    #[serde(rename = "install")]
    Install,
    #[serde(rename = "reinstall")]
    Reinstall,
    #[serde(rename = "upgrade")]
    Upgrade(Option<UpgradeFlags>),
}

#[derive(candid::CandidType, candid::Deserialize)]
struct UpgradeFlags {
    skip_pre_upgrade: Option<bool>,
}

/// `install_code` of `wasm` on `target` in `mode`, sent to the URL of `url`, as `agent`.
async fn install_code(
    agent: &Agent,
    (target, url): (Principal, Principal),
    mode: Mode,
    wasm: &[u8],
    arg: Vec<u8>,
) -> Result<Vec<u8>, AgentError> {
    let args = InstallCode {
        mode,
        canister_id: target,
        wasm_module: wasm.to_vec(),
        arg,
        sender_canister_version: None,
    };
    agent
        .update(&Principal::management_canister(), "install_code")
        .with_effective_canister_id(url)
        .with_arg(Encode!(&args).unwrap())
        .call_and_wait()
        .await
}

#[test]
fn only_a_controller_upgrades_a_canister_through_install_code() {
    let me = ed25519(7).sender().unwrap();
    let mut host = Host::temporary().unwrap();
    host.install("logger", LOGGER.wasm, LOGGER.did_file(), None)
        .unwrap();
    let data = host.data_dir().to_path_buf();
    let listen = "127.0.0.1:0".parse().unwrap();
    let server = Server::start_with(host, listen, Signals::Ignore, ServeConfig::default()).unwrap();
    let logger = principal_of("logger");
    let analytics = commute_examples::ANALYTICS.wasm;
    let empty = Encode!().unwrap();
    let upgrade_as = |identity: BasicIdentity| {
        let empty = empty.clone();
        let server = &server;
        async move {
            let agent = agent_of(server, Box::new(identity)).await;
            install_code(
                &agent,
                (logger, logger),
                Mode::Upgrade(None),
                analytics,
                empty,
            )
            .await
        }
    };
    // Installed with no controllers: nobody upgrades it through the IC interface.
    let e = runtime().block_on(upgrade_as(ed25519(7))).unwrap_err();
    assert!(e.to_string().contains("IC0512"), "{e}");
    // The operator names the controller through the JSON API, as `commute install
    // --controller` does.
    let token = std::fs::read_to_string(data.join(commute_serve::TOKEN_FILE)).unwrap();
    let operator = commute_serve::client::Client::new(&server.url()).with_token(token.trim());
    operator
        .install("logger", LOGGER.wasm, LOGGER.did_file(), None, Some(&[me]))
        .unwrap();
    runtime().block_on(async {
        let controller = agent_of(&server, Box::new(ed25519(7))).await;
        let stranger = agent_of(&server, Box::new(ed25519(8))).await;
        let anonymous = agent_of(&server, Box::new(AnonymousIdentity)).await;
        let reject = |e: AgentError| match e {
            AgentError::UncertifiedReject { reject, .. }
            | AgentError::CertifiedReject { reject, .. } => reject,
            other => panic!("not a reject: {other}"),
        };
        let count = |agent: &Agent| {
            let agent = agent.clone();
            async move {
                let bytes = agent
                    .query(&logger, "count")
                    .with_arg(Encode!(&Principal::anonymous()).unwrap())
                    .call()
                    .await?;
                Ok::<u64, AgentError>(Decode!(&bytes, u64).unwrap())
            }
        };
        anonymous
            .update(&logger, "log")
            .with_arg(Encode!(&Principal::anonymous(), &"before").unwrap())
            .call_and_wait()
            .await
            .unwrap();
        assert_eq!(count(&anonymous).await.unwrap(), 1);

        // Not a controller: refused, the code unchanged.
        for agent in [&stranger, &anonymous] {
            let upgrade = Mode::Upgrade(None);
            let e = install_code(agent, (logger, logger), upgrade, analytics, empty.clone()).await;
            let r = reject(e.unwrap_err());
            assert_eq!(
                r.reject_code,
                RejectCode::CanisterError,
                "{}",
                r.reject_message
            );
            assert_eq!(r.error_code.as_deref(), Some("IC0512"));
            assert!(
                r.reject_message.contains("controllers"),
                "{}",
                r.reject_message
            );
        }
        assert_eq!(count(&anonymous).await.unwrap(), 1);

        // What commute does not do is refused by name, by a controller too.
        let refusals = [
            (Mode::Install, empty.clone(), "mode `install`"),
            (Mode::Reinstall, empty.clone(), "mode `reinstall`"),
            (
                Mode::Upgrade(None),
                Encode!(&5u8).unwrap(),
                "without arguments",
            ),
        ];
        for (mode, arg, names) in refusals {
            let e = install_code(&controller, (logger, logger), mode, analytics, arg).await;
            let r = reject(e.unwrap_err());
            assert_eq!(
                r.reject_code,
                RejectCode::CanisterReject,
                "{}",
                r.reject_message
            );
            assert!(r.reject_message.contains(names), "{}", r.reject_message);
        }
        let e = install_code(
            &controller,
            (logger, logger),
            Mode::Upgrade(None),
            b"\0asm",
            empty.clone(),
        )
        .await;
        assert_eq!(
            reject(e.unwrap_err()).reject_code,
            RejectCode::CanisterReject
        );
        // The effective canister id must be the one the argument names.
        let whoami = principal_of("whoami");
        let e = install_code(
            &controller,
            (logger, whoami),
            Mode::Upgrade(None),
            analytics,
            empty.clone(),
        )
        .await;
        assert!(
            matches!(e, Err(AgentError::HttpError(ref p)) if p.status == 400),
            "{e:?}"
        );
        assert_eq!(count(&anonymous).await.unwrap(), 1);

        // The controller's upgrade: the logger's id now runs the analytics code.
        let flags = Mode::Upgrade(Some(UpgradeFlags {
            skip_pre_upgrade: None,
        }));
        let reply = install_code(
            &controller,
            (logger, logger),
            flags,
            analytics,
            empty.clone(),
        )
        .await
        .unwrap();
        Decode!(&reply).unwrap();
        let e = count(&anonymous).await.unwrap_err();
        assert_eq!(reject(e).error_code.as_deref(), Some("IC0302"));
        let views = anonymous
            .query(&logger, "views")
            .with_arg(Encode!(&"/").unwrap())
            .call()
            .await
            .unwrap();
        assert_eq!(Decode!(&views, u64).unwrap(), 0);
    });
    server.stop().unwrap();
}
