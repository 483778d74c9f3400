;; Who called: for the IC interface's tests, whose signed senders must arrive as
;; msg_caller in queries, updates and pure updates alike.
(module
  (import "ic0" "msg_caller_size" (func $caller_size (result i32)))
  (import "ic0" "msg_caller_copy" (func $caller_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (import "commute" "counter_add" (func $counter_add (param i32 i32 i32 i32 i64)))
  (import "commute" "counter_get" (func $counter_get (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 1)
  ;; Candid: no types, one value of type principal (0x68), given by reference (1).
  (data (i32.const 0) "DIDL\00\01\68\01")  ;; 0..8, then the length at 8, the bytes at 9
  ;; Candid: no types, one nat64 (0x78).
  (data (i32.const 48) "DIDL\00\01\78")    ;; 48..55
  (data (i32.const 64) "calls")            ;; 64..69
  (data (i32.const 72) "boom")             ;; 72..76
  ;; The caller's bytes at 96, its length returned.
  (func $caller (result i32)
    (local $n i32)
    (local.set $n (call $caller_size))
    (call $caller_copy (i32.const 96) (i32.const 0) (local.get $n))
    (local.get $n))
  ;; Replies the caller as a principal (at most 29 bytes: its length is one LEB128 byte).
  (func $reply_caller
    (local $n i32)
    (local.set $n (call $caller_size))
    (i32.store8 (i32.const 8) (local.get $n))
    (call $caller_copy (i32.const 9) (i32.const 0) (local.get $n))
    (call $append (i32.const 0) (i32.add (i32.const 9) (local.get $n)))
    (call $reply))
  (func (export "canister_query whoami") (call $reply_caller))
  (func (export "canister_update whoami_update") (call $reply_caller))
  ;; Counts one call under the caller.
  (func (export "canister_update tally")
    (local $n i32)
    (local.set $n (call $caller))
    (call $counter_add (i32.const 64) (i32.const 5) (i32.const 96) (local.get $n) (i64.const 1)))
  ;; Traps after counting: the count is dropped with the call.
  (func (export "canister_update boom")
    (local $n i32)
    (local.set $n (call $caller))
    (call $counter_add (i32.const 64) (i32.const 5) (i32.const 96) (local.get $n) (i64.const 1))
    (call $trap (i32.const 72) (i32.const 4)))
  ;; The caller's count, as a nat64 (the low 8 bytes of the i128 at 160).
  (func (export "canister_query my_tally")
    (local $n i32)
    (local.set $n (call $caller))
    (call $counter_get (i32.const 64) (i32.const 5) (i32.const 96) (local.get $n) (i32.const 160))
    (call $append (i32.const 48) (i32.const 7))
    (call $append (i32.const 160) (i32.const 8))
    (call $reply)))
