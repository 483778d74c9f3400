;; Hostile, as a pure update: grows memory 1 MiB at a time until memory.grow returns -1,
;; then records how many 64 KiB pages it got in counter "pages". With the 64 MiB cap that
;; is exactly 1024.
(module
  (import "commute" "counter_add" (func $counter_add (param i32 i32 i32 i32 i64)))
  (memory (export "memory") 16)
  (data (i32.const 0) "pages")
  (func (export "canister_update bomb")
    (block $refused
      (loop $grow
        (br_if $refused (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
        (br $grow)))
    (call $counter_add (i32.const 0) (i32.const 5) (i32.const 0) (i32.const 0)
      (i64.extend_i32_u (memory.size)))))
