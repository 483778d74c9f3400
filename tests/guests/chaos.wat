;; chaos: a pure-update canister that exercises every path of a round at once, for the
;; parallel == sequential properties (tests/parallel.rs).
;;
;; hit(a, b) and pair(a, b), both pure updates:
;;   counter "c"[a] += b; map "m"[a] = b; list "l" push b;
;;   if b % 3 == 0: call_pure("chaos", "hit", (a, b + 1))   -- a child call
;;   if b % 5 == 0: trap, after the writes                   -- which must all be dropped
;;
;; The arguments are read at fixed offsets: the Candid encoding of (nat64, nat64) is
;; "DIDL" 00 02 78 78, then a and b as 8 bytes little-endian each: 24 bytes.
(module
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (import "commute" "counter_add" (func $counter_add (param i32 i32 i32 i32 i64)))
  (import "commute" "map_put" (func $map_put (param i32 i32 i32 i32 i32 i32)))
  (import "commute" "list_push" (func $list_push (param i32 i32 i32 i32)))
  (import "commute" "call_pure" (func $call_pure (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; names: "c" at 0, "m" at 1, "l" at 2, "chaos" at 3, "hit" at 8, "b % 5 == 0" at 16
  (data (i32.const 0) "cmlchaoshit")
  (data (i32.const 16) "b % 5 == 0")
  ;; the argument at 64: a at 72, b at 80
  (func $body
    (call $arg_copy (i32.const 64) (i32.const 0) (i32.const 24))
    (call $counter_add (i32.const 0) (i32.const 1) (i32.const 72) (i32.const 8)
      (i64.load (i32.const 80)))
    (call $map_put (i32.const 1) (i32.const 1) (i32.const 72) (i32.const 8)
      (i32.const 80) (i32.const 8))
    (call $list_push (i32.const 2) (i32.const 1) (i32.const 80) (i32.const 8))
    (if (i64.eqz (i64.rem_u (i64.load (i32.const 80)) (i64.const 3)))
      (then
        (i64.store (i32.const 80) (i64.add (i64.load (i32.const 80)) (i64.const 1)))
        (drop (call $call_pure (i32.const 3) (i32.const 5) (i32.const 8) (i32.const 3)
          (i32.const 64) (i32.const 24)))
        (i64.store (i32.const 80) (i64.sub (i64.load (i32.const 80)) (i64.const 1)))))
    (if (i64.eqz (i64.rem_u (i64.load (i32.const 80)) (i64.const 5)))
      (then (call $trap (i32.const 16) (i32.const 10)))))
  (func (export "canister_update hit") (call $body))
  (func (export "canister_update pair") (call $body)))
