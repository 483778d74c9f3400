;; Hostile: imports a function outside the commute ABI.
(module
  (import "ic0" "stable64_write" (func $write (param i64 i64 i64)))
  (memory (export "memory") 1)
  (func (export "canister_update f")))
