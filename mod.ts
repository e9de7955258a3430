/**
 * shmem: shared memory for Deno, Bun and Node, through each runtime's own FFI
 * and no compiled addon.
 *
 * @example Share bytes between processes
 * ```ts
 * import { Segment } from "./mod.ts";
 *
 * const seg = Segment.create("frames", { size: 1 << 20 }); // new, mode 0o600
 * const peer = Segment.open("frames");                     // any process
 * seg.bytes()[0] = 42;
 * peer.bytes()[0];                                         // 42
 * const header = seg.region(0, 64);
 * header.view().setUint32(0, 7, true);
 * seg.close();                                             // views detach
 * peer.close();
 * Segment.unlink("frames");
 * ```
 *
 * @module
 */
export { Segment } from "./segment.ts";
export { MappedMemory } from "./mapped_memory.ts";
export type { MemoryPin } from "./mapped_memory.ts";
export { Region } from "./region.ts";
export type { TypedArray, TypedArrayConstructor } from "./region.ts";
export { ShmError } from "./errors.ts";
export type { ShmErrorInit } from "./errors.ts";
export { uniqueName } from "./names.ts";
export { notify, wait, waitAsync } from "./wait.ts";
export { Mutex } from "./mutex.ts";
export type { LockResult, TryLockResult } from "./mutex.ts";
export { SysvSegment } from "./sysv_segment.ts";
export { MappedFile } from "./mapped_file.ts";
export { AnonymousSegment } from "./anonymous_segment.ts";
export { Channel } from "./channel.ts";
export type { ChannelCreateOptions, ChannelOpenOptions } from "./channel.ts";
export { Publisher } from "./pubsub/publisher.ts";
export type { PublisherOptions, PubSubParameters } from "./pubsub/publisher.ts";
export { Subscriber } from "./pubsub/subscriber.ts";
export type { SubscriberOptions } from "./pubsub/subscriber.ts";
export { LoanedSample, ReceivedSample } from "./pubsub/sample.ts";
export type { PubSubParams, PubSubPolicy } from "./pubsub/layout.ts";
export { listServices } from "./service/list.ts";
export { RequestServer } from "./request_response/server.ts";
export type { ServeOptions } from "./request_response/server.ts";
export { ReceivedRequest } from "./request_response/received_request.ts";
export type { RespondOptions } from "./request_response/received_request.ts";
export { RequestClient } from "./request_response/client.ts";
export type { ConnectOptions, RequestOptions } from "./request_response/client.ts";
export { LoanedRequest, ReceivedResponse } from "./request_response/messages.ts";
export type {
  AnonymousCreateOptions,
  AnonymousOpenOptions,
  CollectOptions,
  CreateOptions,
  ErrnoCode,
  LibraryErrorCode,
  MappedFileOptions,
  Namespace,
  OpenOptions,
  SegmentInfo,
  ServiceDescription,
  ServiceInfo,
  ShmErrorCode,
  SysvCreateOptions,
  SysvOpenOptions,
  SysvRecord,
  WaitResult,
} from "./types.ts";
