;; A guest the host keeps warm (no start function, no instruction that changes a table),
;; that scribbles over everything a call of it can change, to check that the next call on
;; the same (reused) instance starts from the module's initial state only.
;;
;; `scribble` (an update) overwrites the data segment and a word near the end of the
;; initial memory, and sets each mutable global: its own, the one the module exports, and
;; one that plays the shadow stack pointer. `scribble_and_trap` does the same, then traps.
;; `grow` grows memory by a page, writes in it, then scribbles. `bump` adds global $g to
;; counter "init" (named by the data segment) at key "", then adds 1 to $g: on a stale
;; instance it would add another amount to another counter.
;; `look` (a query) replies with what a fresh instance has: 4 bytes of the data segment,
;; 4 bytes near the end of the initial memory, $g (i64 LE), $sp, the exported global,
;; memory.size, and what the functions in table slots 0 and 1 return (i32 LE each).
(module
  (import "commute" "counter_add" (func $add (param i32 i32 i32 i32 i64)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (memory (export "memory") 2)
  (data (i32.const 16) "init")
  (global $g (mut i64) (i64.const 7))
  (global $sp (mut i32) (i32.const 65536))
  (global $shown (export "shown") (mut i32) (i32.const 5))
  (type $ret (func (result i32)))
  (table $t 2 funcref)
  (elem (table $t) (i32.const 0) func $one $two)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))

  (func $scribble
    (i32.store (i32.const 16) (i32.const 0x21212121))
    (i32.store (i32.const 131000) (i32.const 0x21212121))
    (global.set $g (i64.const -1))
    (global.set $sp (i32.const 0))
    (global.set $shown (i32.const 9)))

  (func (export "canister_update scribble")
    (call $scribble)
    (call $reply))

  (func (export "canister_update scribble_and_trap")
    (call $scribble)
    (unreachable))

  (func (export "canister_update grow")
    (drop (memory.grow (i32.const 1)))
    (i32.store (i32.const 131072) (i32.const 0x21212121))
    (call $scribble)
    (call $reply))

  (func (export "canister_update bump")
    (call $add (i32.const 16) (i32.const 4) (i32.const 0) (i32.const 0) (global.get $g))
    (global.set $g (i64.add (global.get $g) (i64.const 1)))
    (call $reply))

  ;; Builds the reply at 1024..1056.
  (func (export "canister_query look")
    (i32.store (i32.const 1024) (i32.load (i32.const 16)))
    (i32.store (i32.const 1028) (i32.load (i32.const 131000)))
    (i64.store (i32.const 1032) (global.get $g))
    (i32.store (i32.const 1040) (global.get $sp))
    (i32.store (i32.const 1044) (global.get $shown))
    (i32.store (i32.const 1048) (memory.size))
    (i32.store (i32.const 1052)
      (i32.add
        (call_indirect $t (type $ret) (i32.const 0))
        (i32.mul (i32.const 16) (call_indirect $t (type $ret) (i32.const 1)))))
    (call $append (i32.const 1024) (i32.const 32))
    (call $reply)))
