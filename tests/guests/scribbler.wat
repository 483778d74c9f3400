;; A guest that scribbles over everything an instance has, to check that the next call on
;; the same engine (and so, with the pooling allocator, on a reused slot) starts from the
;; module's initial state only.
;;
;; `scribble` (an update) overwrites the data segment, a page near the end of the initial
;; memory and one in memory it grows, sets the mutable global, points table slot 0 at
;; another function and clears slot 1; then replies.
;; `look` (a query) replies with what a fresh instance has: 4 bytes of the data segment,
;; 4 bytes near the end of the initial memory, the global (i64 LE), memory.size (i32 LE),
;; what the functions in table slots 0 and 1 return (i32 LE each; -1 for a null slot).
(module
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (memory (export "memory") 2)
  (data (i32.const 16) "init")
  (global $g (mut i64) (i64.const 7))
  (type $ret (func (result i32)))
  (table $t 2 funcref)
  (elem (table $t) (i32.const 0) func $one $two)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func $three (result i32) (i32.const 3))

  (func $slot (param $i i32) (result i32)
    (if (result i32) (ref.is_null (table.get $t (local.get $i)))
      (then (i32.const -1))
      (else (call_indirect $t (type $ret) (local.get $i)))))

  (func (export "canister_update scribble")
    (i32.store (i32.const 16) (i32.const 0x21212121))
    (i32.store (i32.const 131000) (i32.const 0x21212121))
    (drop (memory.grow (i32.const 3)))
    (i32.store (i32.const 300000) (i32.const 0x21212121))
    (global.set $g (i64.const -1))
    (table.set $t (i32.const 0) (ref.func $three))
    (table.set $t (i32.const 1) (ref.null func))
    (call $reply))

  ;; Builds the reply at 1024..1052.
  (func (export "canister_query look")
    (i32.store (i32.const 1024) (i32.load (i32.const 16)))
    (i32.store (i32.const 1028) (i32.load (i32.const 131000)))
    (i64.store (i32.const 1032) (global.get $g))
    (i32.store (i32.const 1040) (memory.size))
    (i32.store (i32.const 1044) (call $slot (i32.const 0)))
    (i32.store (i32.const 1048) (call $slot (i32.const 1)))
    ;; 1052: what a page of the grown memory holds, if it is there (else 0xffffffff).
    (i32.store (i32.const 1052)
      (if (result i32) (i32.gt_u (memory.size) (i32.const 4))
        (then (i32.load (i32.const 300000)))
        (else (i32.const -1))))
    (call $append (i32.const 1024) (i32.const 32))
    (call $reply))
  (elem declare func $three))
