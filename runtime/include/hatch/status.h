/* hatch status codes: one X-macro table gives every code its name and message.
 * Every fallible function returns hatch_status; outputs go through pointer parameters. */
#ifndef HATCH_STATUS_H
#define HATCH_STATUS_H

#define HATCH_STATUS_LIST(X)                                                              \
  X(OK, "success")                                                                        \
  X(ERR_INVALID_ARGUMENT, "invalid argument")                                             \
  X(ERR_SHAPE, "tensor shapes do not fit the operation")                                  \
  X(ERR_TYPE, "tensor type not supported by the operation")                               \
  X(ERR_OUT_OF_MEMORY, "out of host memory")                                              \
  X(ERR_OUT_OF_DEVICE_MEMORY, "out of device memory")                                     \
  X(ERR_TOO_LARGE, "size exceeds a device or format limit")                               \
  X(ERR_NO_DEVICE, "no usable Vulkan device")                                             \
  X(ERR_DEVICE_LOST, "the GPU device was lost")                                           \
  X(ERR_TIMEOUT, "timed out (GPU work or device I/O did not finish in time)")             \
  X(ERR_VULKAN, "Vulkan call failed")                                                     \
  X(ERR_UNSUPPORTED, "not supported on this device or build")                             \
  X(ERR_IO, "input/output error")                                                         \
  X(ERR_CORRUPT, "corrupt or malformed data")                                             \
  X(ERR_BACKEND_MISMATCH, "tensors belong to different backends")                        \
  X(ERR_NOT_FOUND, "no such file, device or entry")                                       \
  X(ERR_DISCONNECTED, "the device was disconnected")                                      \
  X(ERR_BUSY, "device busy or out of bandwidth")

typedef enum hatch_status {
#define HATCH_STATUS_ENUM(name, msg) HATCH_##name,
  HATCH_STATUS_LIST(HATCH_STATUS_ENUM)
#undef HATCH_STATUS_ENUM
  HATCH_STATUS_COUNT
} hatch_status;

/* "HATCH_ERR_SHAPE"; "HATCH_STATUS_UNKNOWN" for values outside the table. */
const char *hatch_status_name(hatch_status status);
/* One-line human message; never NULL. */
const char *hatch_status_message(hatch_status status);

#endif
