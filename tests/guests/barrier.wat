;; barrier: a pure update and a oneway that reads what pure updates wrote, for the check that
;; a pipelined tick still makes updates barriers (tests/parallel.rs).
;;
;; bump(), a pure update:  counter "n" += 1
;; snap(), a oneway:       map "s"[n] = n, where n is the committed value of counter "n"
;;                         (16 bytes, little-endian i128, as counter_get writes it)
(module
  (import "commute" "counter_add" (func $counter_add (param i32 i32 i32 i32 i64)))
  (import "commute" "counter_get" (func $counter_get (param i32 i32 i32 i32 i32)))
  (import "commute" "map_put" (func $map_put (param i32 i32 i32 i32 i32 i32)))
  (memory (export "memory") 1)
  ;; names: "n" at 0, "s" at 1; the counter's value at 16
  (data (i32.const 0) "ns")
  (func (export "canister_update bump")
    (call $counter_add (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 0) (i64.const 1)))
  (func (export "canister_update snap")
    (call $counter_get (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 16))
    (call $map_put (i32.const 1) (i32.const 1) (i32.const 16) (i32.const 16)
      (i32.const 16) (i32.const 16))))
