// commute serve driven by the unchanged @dfinity/agent, through Actor.createActor with the
// default agent settings (certificates and query signatures checked). Run by
// tests/agent_js.rs, which starts the server: node agent_js.mjs URL.
import { Actor, HttpAgent, SignIdentity } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import {
  DelegationChain,
  DelegationIdentity,
  ECDSAKeyIdentity,
  Ed25519KeyIdentity,
} from '@dfinity/identity';
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1';
import { Principal } from '@dfinity/principal';
import assert from 'node:assert/strict';

const [host, whoamiId, loggerId] = process.argv.slice(2);

const whoamiIdl = ({ IDL }) =>
  IDL.Service({
    whoami: IDL.Func([], [IDL.Principal], ['query']),
    whoami_update: IDL.Func([], [IDL.Principal], []),
    tally: IDL.Func([], [], []),
    my_tally: IDL.Func([], [IDL.Nat64], ['query']),
  });
const loggerIdl = ({ IDL }) =>
  IDL.Service({
    log: IDL.Func([IDL.Principal, IDL.Text], [], []),
    count: IDL.Func([IDL.Principal], [IDL.Nat64], ['query']),
  });

async function actors(identity) {
  const agent = await HttpAgent.create({ host, identity, shouldFetchRootKey: true });
  return {
    whoami: Actor.createActor(whoamiIdl, { agent, canisterId: whoamiId }),
    logger: Actor.createActor(loggerIdl, { agent, canisterId: loggerId }),
  };
}

// A signed identity: a pure update, its effect, an update's reply, msg_caller.
async function signed(name, identity) {
  const me = identity.getPrincipal();
  const { whoami, logger } = await actors(identity);
  assert.equal((await whoami.whoami()).toText(), me.toText(), `${name}: whoami`);
  await whoami.tally();
  await whoami.tally();
  assert.equal(await whoami.my_tally(), 2n, `${name}: my_tally`);
  assert.equal((await whoami.whoami_update()).toText(), me.toText(), `${name}: whoami_update`);
  await logger.log(me, `hello from ${name}`);
  assert.equal(await logger.count(me), 1n, `${name}: count`);
  console.log(`ok ${name} ${me.toText()}`);
}

await signed('ed25519', Ed25519KeyIdentity.generate());
await signed('secp256k1', Secp256k1KeyIdentity.generate());
await signed('p256', await ECDSAKeyIdentity.generate());
{
  const root = Ed25519KeyIdentity.generate();
  const session = Ed25519KeyIdentity.generate();
  const chain = await DelegationChain.create(root, session.getPublicKey());
  const delegated = DelegationIdentity.fromDelegation(session, chain);
  assert.equal(delegated.getPrincipal().toText(), root.getPrincipal().toText());
  await signed('delegation', delegated);
}

// Anonymous: HttpAgent's default identity.
{
  const agent = await HttpAgent.create({ host, shouldFetchRootKey: true });
  const whoami = Actor.createActor(whoamiIdl, { agent, canisterId: whoamiId });
  await whoami.tally();
  assert.equal(await whoami.my_tally(), 1n, 'anonymous: my_tally');
  assert.equal((await whoami.whoami()).toText(), Principal.anonymous().toText());
  console.log('ok anonymous');
}

// A forged signature: Alice's key, Mallory's signature. Refused, and nothing counted.
{
  const alice = Ed25519KeyIdentity.generate();
  const mallory = Ed25519KeyIdentity.generate();
  class Forger extends SignIdentity {
    getPublicKey() {
      return alice.getPublicKey();
    }
    sign(blob) {
      return mallory.sign(blob);
    }
  }
  const { whoami } = await actors(new Forger());
  await assert.rejects(whoami.tally(), (e) => {
    assert.match(String(e), /invalid signature/);
    return true;
  });
  const honest = await actors(alice);
  assert.equal(await honest.whoami.my_tally(), 0n, 'forged call counted');
  console.log('ok forged signature refused');
}
