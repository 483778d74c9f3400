;; A well-behaved guest: pure writes, an update that reads its own writes, queries that
;; reply, and the context imports (argument, caller, self, time).
(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_caller_size" (func $caller_size (result i32)))
  (import "ic0" "msg_caller_copy" (func $caller_copy (param i32 i32 i32)))
  (import "ic0" "canister_self_size" (func $self_size (result i32)))
  (import "ic0" "canister_self_copy" (func $self_copy (param i32 i32 i32)))
  (import "ic0" "time" (func $time (result i64)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "debug_print" (func $print (param i32 i32)))
  (import "commute" "counter_add" (func $counter_add (param i32 i32 i32 i32 i64)))
  (import "commute" "map_put" (func $map_put (param i32 i32 i32 i32 i32 i32)))
  (import "commute" "map_remove" (func $map_remove (param i32 i32 i32 i32)))
  (import "commute" "list_push" (func $list_push (param i32 i32 i32 i32)))
  (import "commute" "call_pure" (func $call_pure (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "commute" "counter_get" (func $counter_get (param i32 i32 i32 i32 i32)))
  (import "commute" "map_get" (func $map_get (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "commute" "map_next_key" (func $map_next_key (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "commute" "list_len" (func $list_len (param i32 i32) (result i64)))
  (import "commute" "list_get" (func $list_get (param i32 i32 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; Names and constants.
  (data (i32.const 0) "hits")                  ;; 0..4
  (data (i32.const 8) "last")                  ;; 8..12
  (data (i32.const 16) "events")               ;; 16..22
  (data (i32.const 24) "mab")                  ;; map "m" at 24, key "a" at 25, key "b" at 26
  (data (i32.const 27) "own")                  ;; 27..30
  (data (i32.const 32) "logger")               ;; 32..38
  (data (i32.const 40) "log")                  ;; 40..43
  (data (i32.const 48) "hello from the guest") ;; 48..68
  ;; 1024..: the argument; 2048..: scratch for replies; 3072: a byte no call should find set.

  (global $calls (mut i32) (i32.const 0))

  ;; pure_update log: hits += 1; last[caller] = arg; events.push(arg); call_pure(logger.log, arg).
  (func (export "canister_update log")
    (local $len i32)
    (local.set $len (call $arg_size))
    (call $arg_copy (i32.const 1024) (i32.const 0) (local.get $len))
    (call $counter_add (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 0) (i64.const 1))
    (call $caller_copy (i32.const 2048) (i32.const 0) (call $caller_size))
    (call $map_put (i32.const 8) (i32.const 4) (i32.const 2048) (call $caller_size)
                   (i32.const 1024) (local.get $len))
    (call $list_push (i32.const 16) (i32.const 6) (i32.const 1024) (local.get $len))
    (drop (call $call_pure (i32.const 32) (i32.const 6) (i32.const 40) (i32.const 3)
                           (i32.const 1024) (local.get $len))))

  ;; update rw: writes, then replies with what it reads back:
  ;; hits (16 bytes) ‖ m[b] ‖ map_get(m, a) as i32 ‖ first key of m ‖ len(events) (8 bytes) ‖ events[len - 1]
  (func (export "canister_update rw")
    (local $n i32)
    (call $counter_add (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 0) (i64.const 5))
    (call $map_put (i32.const 24) (i32.const 1) (i32.const 26) (i32.const 1) (i32.const 27) (i32.const 3))
    (call $map_remove (i32.const 24) (i32.const 1) (i32.const 25) (i32.const 1))
    (call $list_push (i32.const 16) (i32.const 6) (i32.const 27) (i32.const 3))

    (call $counter_get (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 2048))
    (call $append (i32.const 2048) (i32.const 16))

    (local.set $n (call $map_get (i32.const 24) (i32.const 1) (i32.const 26) (i32.const 1)
                                 (i32.const 2048) (i32.const 64)))
    (call $append (i32.const 2048) (local.get $n))

    (i32.store (i32.const 2048)
      (call $map_get (i32.const 24) (i32.const 1) (i32.const 25) (i32.const 1) (i32.const 2100) (i32.const 64)))
    (call $append (i32.const 2048) (i32.const 4))

    (local.set $n (call $map_next_key (i32.const 24) (i32.const 1) (i32.const 0) (i32.const -1)
                                      (i32.const 2048) (i32.const 64)))
    (call $append (i32.const 2048) (local.get $n))

    (i64.store (i32.const 2048) (call $list_len (i32.const 16) (i32.const 6)))
    (call $append (i32.const 2048) (i32.const 8))

    (local.set $n (call $list_get (i32.const 16) (i32.const 6)
                                  (i64.sub (call $list_len (i32.const 16) (i32.const 6)) (i64.const 1))
                                  (i32.const 2048) (i32.const 64)))
    (call $append (i32.const 2048) (local.get $n))
    (call $reply))

  ;; query hits: the counter, 16 bytes.
  (func (export "canister_query hits")
    (call $counter_get (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 2048))
    (call $append (i32.const 2048) (i32.const 16))
    (call $reply))

  ;; query context: arg ‖ caller ‖ self ‖ time (8 bytes).
  (func (export "canister_query context")
    (local $n i32)
    (local.set $n (call $arg_size))
    (call $arg_copy (i32.const 2048) (i32.const 0) (local.get $n))
    (call $append (i32.const 2048) (local.get $n))
    (local.set $n (call $caller_size))
    (call $caller_copy (i32.const 2048) (i32.const 0) (local.get $n))
    (call $append (i32.const 2048) (local.get $n))
    (local.set $n (call $self_size))
    (call $self_copy (i32.const 2048) (i32.const 0) (local.get $n))
    (call $append (i32.const 2048) (local.get $n))
    (i64.store (i32.const 2048) (call $time))
    (call $append (i32.const 2048) (i32.const 8))
    (call $reply))

  ;; query fresh: traps if a previous call's global or memory write is still there.
  (func (export "canister_query fresh")
    (if (i32.ne (global.get $calls) (i32.const 0)) (then unreachable))
    (if (i32.ne (i32.load8_u (i32.const 3072)) (i32.const 0)) (then unreachable))
    (global.set $calls (i32.const 1))
    (i32.store8 (i32.const 3072) (i32.const 1))
    (call $reply))

  ;; update print: debug_print, then an empty reply.
  (func (export "canister_update print")
    (call $print (i32.const 48) (i32.const 20))
    (call $reply))

  ;; oneway fire: writes and replies; the reply is discarded.
  (func (export "canister_update fire")
    (call $list_push (i32.const 16) (i32.const 6) (i32.const 27) (i32.const 3))
    (call $append (i32.const 27) (i32.const 3))
    (call $reply))

  ;; init: one write.
  (func (export "canister_init")
    (call $counter_add (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 0) (i64.const 100))))
