;; Hostile: more writes than the write log takes.
(module
  (import "commute" "counter_add" (func $counter_add (param i32 i32 i32 i32 i64)))
  (import "commute" "map_put" (func $map_put (param i32 i32 i32 i32 i32 i32)))
  (memory (export "memory") 17)
  (data (i32.const 0) "n")
  ;; 20,000 counter_add, each to its own key (the 4-byte loop index at 16).
  (func (export "canister_update flood")
    (local $i i32)
    (loop $next
      (i32.store (i32.const 16) (local.get $i))
      (call $counter_add (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 4) (i64.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 20000)))))
  ;; Five map_put of a 1 MiB value (at 64 KiB): over the 4 MiB byte cap at the fourth.
  (func (export "canister_update heavy")
    (local $i i32)
    (loop $next
      (i32.store (i32.const 16) (local.get $i))
      (call $map_put (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 4)
                     (i32.const 65536) (i32.const 1048576))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 5))))))
