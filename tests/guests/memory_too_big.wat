;; Hostile: asks for 128 MiB of memory from the start.
(module
  (memory (export "memory") 2048)
  (func (export "canister_update f")))
