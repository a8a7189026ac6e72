/* Frame references: atomic counts; the last unref returns the slot to its owner. */
#include <assert.h>
#include <stdlib.h>

#include "camera/frame_internal.h"

void hatch_frame_ref(const hatch_frame *frame) {
  hatch_frame_slot *slot = hatch_frame_slot_of(frame);
  int before = atomic_fetch_add(&slot->refs, 1);
  assert(before > 0 && "hatch_frame_ref on a frame nobody holds");
  (void)before;
}

void hatch_frame_unref(const hatch_frame *frame) {
  if (!frame) return;
  hatch_frame_slot *slot = hatch_frame_slot_of(frame);
  int before = atomic_fetch_sub(&slot->refs, 1);
  assert(before > 0 && "hatch_frame_unref: more unrefs than refs");
  if (before == 1) slot->release(slot);
}

void hatch_frame_set_release(hatch_frame_set *set) {
  if (!set) return;
  for (int i = 0; i < set->n_cameras && i < HATCH_RIG_MAX_CAMERAS; i++) hatch_frame_unref(set->frames[i]);
  free(set);
}
