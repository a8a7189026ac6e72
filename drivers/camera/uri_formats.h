/* Pieces of URI handling shared by the rig's V4L2 and fake cameras. */
#ifndef HATCH_CAMERA_URI_FORMATS_H
#define HATCH_CAMERA_URI_FORMATS_H

#include "camera/source.h"
#include "hatch/v4l2_fake.h"

/* format=mjpeg|yuyv|nv12|rgb24 -> V4L2 fourcc; absent -> 0 (automatic). */
hatch_status hatch_uri_format(const hatch_uri *uri, uint32_t *fourcc, hatch_error *err);

/* fake:// URI -> fake camera config (pointing into uri), V4L2 source config (ops/holder not set) and
 * faults. */
hatch_status hatch_fake_uri_config(const hatch_uri *uri, const hatch_rig_options *opt, hatch_fake_camera_config *cfg,
                                   hatch_v4l2_source_config *src, hatch_fake_faults *faults, bool *has_faults,
                                   hatch_error *err);

#endif
