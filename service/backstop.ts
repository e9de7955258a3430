/**
 * The GC backstop of a service port (a publisher, subscriber, request-response
 * server or client). A port dropped without close() is closed as close()
 * would close it once it is garbage, so that its peers see it leave: a
 * dropped server fails its clients' requests with `ERR_SERVER_GONE` and a
 * dropped publisher ends its subscribers' receives, instead of leaving them
 * to wait forever on a process that is still alive; a dropped client or
 * subscriber frees its slot.
 *
 * Without it, only the port's segment would be collected and unmapped, with
 * none of the service's protocol: the peers would go on seeing a live port
 * in a live process.
 *
 * @module
 */

const registry = new FinalizationRegistry<() => void>((leave) => {
  try {
    leave();
  } catch {
    // A finalizer has nobody to report to; the segment's own backstop still unmaps it.
  }
});

/**
 * Runs `leave` once `port` is garbage, unless {@link unguard} ran first.
 * `leave` must not reach `port` (a bound function of the port's state, not a
 * closure made where `this` is in scope), or the port never becomes garbage.
 */
export function guard(port: object, leave: () => void): void {
  registry.register(port, leave, port);
}

/** Cancels the backstop of `port`: its close() runs now. */
export function unguard(port: object): void {
  registry.unregister(port);
}
