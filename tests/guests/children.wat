;; call_pure: a valid child, a refused one, and a fan-out past the cap.
(module
  (import "commute" "call_pure" (func $call_pure (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "commute" "counter_add" (func $counter_add (param i32 i32 i32 i32 i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "logger")    ;; 0..6
  (data (i32.const 8) "log")       ;; 8..11
  (data (i32.const 16) "nobody")   ;; 16..22
  (data (i32.const 24) "args")     ;; 24..28
  (data (i32.const 32) "code")     ;; 32..36
  (data (i32.const 40) "\ff\fe")   ;; 40..42: not UTF-8
  ;; One valid child; then a refused one, whose code is added to counter "code".
  (func (export "canister_update two")
    (call $counter_add (i32.const 32) (i32.const 4) (i32.const 0) (i32.const 0)
      (i64.extend_i32_s
        (call $call_pure (i32.const 0) (i32.const 6) (i32.const 8) (i32.const 3) (i32.const 24) (i32.const 4))))
    (call $counter_add (i32.const 32) (i32.const 4) (i32.const 0) (i32.const 0)
      (i64.extend_i32_s
        (call $call_pure (i32.const 16) (i32.const 6) (i32.const 8) (i32.const 3) (i32.const 24) (i32.const 4))))
    (call $counter_add (i32.const 32) (i32.const 4) (i32.const 0) (i32.const 0)
      (i64.extend_i32_s
        (call $call_pure (i32.const 40) (i32.const 2) (i32.const 8) (i32.const 3) (i32.const 24) (i32.const 4)))))
  ;; 300 valid children: the 257th traps.
  (func (export "canister_update fan_out")
    (local $i i32)
    (loop $next
      (drop (call $call_pure (i32.const 0) (i32.const 6) (i32.const 8) (i32.const 3) (i32.const 24) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 300))))))
