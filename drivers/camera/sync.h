/* The multi-camera sync stage: frames in (with references), frame sets out. Pure logic, no threads
 * and no clock of its own (callers pass `now`), so tests drive it with synthetic timestamps.
 *
 * Policy (ROS message_filters' approximate time, simplified to one frame per camera):
 * - Each camera keeps a short queue of its newest unmatched frames (depth frames; the oldest is
 *   discarded when full: frames pin driver buffers).
 * - When every live camera has a queued frame, the pivot is the laggard's newest frame (the minimum
 *   over cameras of their newest timestamp). No camera can later produce a frame closer to it, so the
 *   choice is final: each camera takes its queued frame nearest the pivot; frames more than
 *   `tolerance` from the pivot do not match and that camera is missing from the set.
 * - Tolerance AUTO: half the longest frame period over the cameras plus 2 ms of jitter. Free-running
 *   cameras of one rate are at most half a period apart at their nearest frames, so any phase offset
 *   forms full sets; a fixed tolerance under half a period leaves cameras whose phases differ by more
 *   than it (at 30 fps and 15 ms: 15..18.3 ms of the 33.3 ms cycle) without a full set for as long as
 *   their clocks hold. Periods are seeded (the requested rate) and then measured from timestamps.
 * - A camera that is not live (down, stalled, ended) is not waited for. A live camera that has
 *   nothing queued is waited for until the oldest queued frame of the others has waited `max_wait`;
 *   then the set goes out with it missing.
 * - A frame older than the last set's pivot minus the tolerance arrives too late and is discarded; one
 *   older than the pivot but within the tolerance may join the next set but never pivots it, so set
 *   times never decrease (a recording's timestamps must not).
 * Discarded frames are counted per camera (unmatched). */
#ifndef HATCH_CAMERA_SYNC_H
#define HATCH_CAMERA_SYNC_H

#include "hatch/camera.h"

#define HATCH_SYNC_MAX_DEPTH 8
#define HATCH_SYNC_TOLERANCE_AUTO (-1)
#define HATCH_SYNC_AUTO_MARGIN_NS 2000000 /* timestamp jitter allowed on top of half a period */

typedef struct hatch_sync hatch_sync;

hatch_status hatch_sync_create(int n_cameras, int depth, int64_t tolerance_ns, int64_t max_wait_ns,
                               hatch_sync **out);
void hatch_sync_destroy(hatch_sync *sync); /* drops every queued reference; NULL-safe */

/* Takes over one reference to frame (frame->camera in range). now = arrival time. */
void hatch_sync_push(hatch_sync *sync, const hatch_frame *frame, int64_t now_ns);
/* AUTO tolerance: the camera's expected frame period until its timestamps give one. */
void hatch_sync_seed_period(hatch_sync *sync, int camera, int64_t period_ns);
/* The tolerance in use now (AUTO: from the periods; before any, the 2 ms margin alone). */
int64_t hatch_sync_tolerance_ns(const hatch_sync *sync);
/* Whether the camera is waited for. */
void hatch_sync_set_live(hatch_sync *sync, int camera, bool live);

/* Forms the next set if one is due at `now`: HATCH_OK with *out (malloc'd, owns its references),
 * HATCH_ERR_NOT_FOUND when none is due, HATCH_ERR_OUT_OF_MEMORY. */
hatch_status hatch_sync_next(hatch_sync *sync, int64_t now_ns, hatch_frame_set **out);

/* When a partial set falls due if nothing else arrives (INT64_MAX when none is pending). */
int64_t hatch_sync_deadline(const hatch_sync *sync);

uint64_t hatch_sync_unmatched(const hatch_sync *sync, int camera);
uint64_t hatch_sync_in_sets(const hatch_sync *sync, int camera);
/* Frames queued right now (all cameras). */
int hatch_sync_queued(const hatch_sync *sync);

#endif
