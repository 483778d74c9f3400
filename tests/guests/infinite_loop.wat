;; Hostile: pure updates that never end. Fuel stops them, in wasm and in imports alike.
(module
  (import "ic0" "time" (func $time (result i64)))
  (memory (export "memory") 1)
  ;; Calls an import forever: host calls cost fuel too.
  (func (export "canister_update spin")
    (loop $forever
      (drop (call $time))
      (br $forever)))
  ;; Plain wasm forever.
  (func (export "canister_update busy")
    (loop $forever (br $forever))))
