;; Hostile: pointers and lengths outside memory, passed to imports and used in wasm.
;; Every export must trap; none may panic the host.
(module
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_caller_size" (func $caller_size (result i32)))
  (import "ic0" "msg_caller_copy" (func $caller_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (import "ic0" "debug_print" (func $print (param i32 i32)))
  (import "commute" "counter_add" (func $counter_add (param i32 i32 i32 i32 i64)))
  (import "commute" "map_put" (func $map_put (param i32 i32 i32 i32 i32 i32)))
  (import "commute" "list_push" (func $list_push (param i32 i32 i32 i32)))
  (import "commute" "call_pure" (func $call_pure (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "commute" "counter_get" (func $counter_get (param i32 i32 i32 i32 i32)))
  (import "commute" "map_get" (func $map_get (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "commute" "map_next_key" (func $map_next_key (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "mkvalue")
  ;; A name that starts near the top of the address space: ptr + len wraps a u32.
  (func (export "canister_update name_wraps")
    (call $counter_add (i32.const -16) (i32.const 100) (i32.const 0) (i32.const 0) (i64.const 1)))
  ;; A length of -1, which wasm means as 4 GiB - 1.
  (func (export "canister_update negative_len")
    (call $list_push (i32.const 0) (i32.const -1) (i32.const 0) (i32.const 0)))
  ;; A value one byte past the end of memory.
  (func (export "canister_update value_past_end")
    (call $map_put (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1) (i32.const 65530) (i32.const 7)))
  ;; Argument bytes past the argument's end.
  (func (export "canister_update arg_offset")
    (call $arg_copy (i32.const 0) (i32.const 1000) (i32.const 10)))
  ;; Caller bytes copied to the last byte of memory.
  (func (export "canister_update caller_dst")
    (call $caller_copy (i32.const 65535) (i32.const 0) (call $caller_size)))
  (func (export "canister_update trap_text")
    (call $trap (i32.const 65530) (i32.const 100)))
  (func (export "canister_update print_text")
    (call $print (i32.const 70000) (i32.const 1)))
  (func (export "canister_update reply_src")
    (call $append (i32.const 65536) (i32.const 1)))
  (func (export "canister_update call_pure_arg")
    (drop (call $call_pure (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 65537))))
  ;; counter_get writes 16 bytes at 65530: 10 past the end.
  (func (export "canister_update counter_dst")
    (call $counter_get (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1) (i32.const 65530)))
  ;; map_get of a 5-byte value that fits cap but not memory at dst.
  (func (export "canister_update map_dst")
    (call $map_put (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1) (i32.const 2) (i32.const 5))
    (drop (call $map_get (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1) (i32.const 65534) (i32.const 100))))
  (func (export "canister_update after_key")
    (drop (call $map_next_key (i32.const 0) (i32.const 1) (i32.const 70000) (i32.const 5) (i32.const 0) (i32.const 0))))
  ;; Plain wasm: a load past the end.
  (func (export "canister_update load")
    (drop (i32.load (i32.const 70000)))))
