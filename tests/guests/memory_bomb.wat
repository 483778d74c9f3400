;; Hostile: grows memory until refused. Replies with the final size in pages (i32).
(module
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (memory (export "memory") 16)
  ;; Grows 1 MiB at a time until memory.grow returns -1.
  (func (export "canister_update bomb")
    (block $refused
      (loop $grow
        (br_if $refused (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
        (br $grow)))
    (i32.store (i32.const 0) (memory.size))
    (call $append (i32.const 0) (i32.const 4))
    (call $reply))
  ;; One grow to 4 GiB; replies with what memory.grow returned.
  (func (export "canister_update huge")
    (i32.store (i32.const 0) (memory.grow (i32.const 65520)))
    (call $append (i32.const 0) (i32.const 4))
    (call $reply)))
