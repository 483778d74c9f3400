;; How calls answer: twice, never, by rejecting, by trapping, after writing.
(module
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reject" (func $reject (param i32 i32)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (import "commute" "list_push" (func $list_push (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "go away\nnow")        ;; 0..11
  (data (i32.const 16) "line one\r\nline two") ;; 16..34
  (data (i32.const 40) "events")            ;; 40..46
  (data (i32.const 48) "0123456789abcdef0123456789abcdef") ;; 48..80
  (func (export "canister_update twice") (call $reply) (call $reply))
  (func (export "canister_update append_after_reply")
    (call $reply) (call $append (i32.const 48) (i32.const 1)))
  (func (export "canister_update silent")
    (call $list_push (i32.const 40) (i32.const 6) (i32.const 48) (i32.const 1)))
  (func (export "canister_update reject")
    (call $list_push (i32.const 40) (i32.const 6) (i32.const 48) (i32.const 1))
    (call $reject (i32.const 0) (i32.const 11)))
  (func (export "canister_update multiline_trap")
    (call $list_push (i32.const 40) (i32.const 6) (i32.const 48) (i32.const 1))
    (call $trap (i32.const 16) (i32.const 18)))
  ;; Replies first, then writes: the writes count (the IC runs on after msg_reply).
  (func (export "canister_update reply_then_write")
    (call $append (i32.const 48) (i32.const 2))
    (call $reply)
    (call $list_push (i32.const 40) (i32.const 6) (i32.const 48) (i32.const 1)))
  ;; Replies, then traps: the reply and the writes are dropped.
  (func (export "canister_update reply_then_trap")
    (call $list_push (i32.const 40) (i32.const 6) (i32.const 48) (i32.const 1))
    (call $reply)
    unreachable)
  ;; A 32-byte reply in two appends.
  (func (export "canister_query big")
    (call $append (i32.const 48) (i32.const 16))
    (call $append (i32.const 64) (i32.const 16))
    (call $reply)))
