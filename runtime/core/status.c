#include "hatch/status.h"

static const char *const status_names[] = {
#define HATCH_STATUS_NAME(name, msg) "HATCH_" #name,
    HATCH_STATUS_LIST(HATCH_STATUS_NAME)
#undef HATCH_STATUS_NAME
};

static const char *const status_messages[] = {
#define HATCH_STATUS_MESSAGE(name, msg) msg,
    HATCH_STATUS_LIST(HATCH_STATUS_MESSAGE)
#undef HATCH_STATUS_MESSAGE
};

const char *hatch_status_name(hatch_status status) {
  if ((unsigned)status >= HATCH_STATUS_COUNT) return "HATCH_STATUS_UNKNOWN";
  return status_names[status];
}

const char *hatch_status_message(hatch_status status) {
  if ((unsigned)status >= HATCH_STATUS_COUNT) return "unknown status";
  return status_messages[status];
}
