/* The plan grammar (hatch/plan.h) as a byte-level state machine. The parser runs the same machine
 * with a capture attached, so the grammar that masks tokens during decoding and the parser that reads
 * the result can never disagree. */
#include <stdlib.h>
#include <string.h>

#include "hatch/plan.h"
#include "plan/plan_internal.h"

static const char *const verb_texts[HATCH_PLAN_VERB_COUNT] = {
    "turn left", "turn right", "turn up", "turn down", "move forward", "move up", "move down"};
static const char *const verb_json[HATCH_PLAN_VERB_COUNT] = {
    "turn_left", "turn_right", "turn_up", "turn_down", "move_forward", "move_up", "move_down"};

const char *hatch_plan_verb_text(hatch_plan_verb v) { return v >= 0 && v < HATCH_PLAN_VERB_COUNT ? verb_texts[v] : "?"; }
const char *hatch_plan_verb_json_name(hatch_plan_verb v) { return v >= 0 && v < HATCH_PLAN_VERB_COUNT ? verb_json[v] : "?"; }
bool hatch_plan_verb_is_turn(hatch_plan_verb v) { return v <= HATCH_TURN_DOWN; }

/* Literals, in the order the grammar uses them. */
enum { L_ACTION_OPEN, L_FROM, L_TO, L_ACTIONS, L_OP_OPEN, L_COLON, L_DEG_CLOSE, L_M_CLOSE, L_STEP_CLOSE,
       L_ANSWER_OPEN, L_DOT, L_ANSWER_CLOSE, L_COUNT };
static const char *const literals[L_COUNT] = {"<action>", "{from:", ",to:", ",action:[", "{", ": ", " deg}", " m}",
                                              "}", "/action><answer>", ". ", "/answer>"};

/* Field states; S_LIT matches literals[m->lit] and then moves to after_literal(lit). */
enum { S_LIT, S_FROM, S_TO, S_VERB, S_NUMBER, S_AFTER_OP, S_AFTER_STEP, S_LETTER, S_TEXT, S_DONE };

static void enter_lit(hatch_plan_matcher *m, int lit, int pos) {
  m->state = S_LIT;
  m->lit = lit;
  m->lit_pos = pos;
}

static void after_literal(hatch_plan_matcher *m) {
  switch (m->lit) {
  case L_ACTION_OPEN: enter_lit(m, L_FROM, 0); m->n_steps = 1; m->n_ops = 0; break;
  case L_FROM: m->state = S_FROM; break;
  case L_TO: m->state = S_TO; break;
  case L_ACTIONS: enter_lit(m, L_OP_OPEN, 0); break;
  case L_OP_OPEN: m->state = S_VERB; m->verb = -1; m->verb_mask = (1u << HATCH_PLAN_VERB_COUNT) - 1; m->len = 0; m->n_ops++; break;
  case L_COLON: m->state = S_NUMBER; m->len = 0; m->int_value = 0; m->frac_digits = -1; break;
  case L_DEG_CLOSE: case L_M_CLOSE: m->state = S_AFTER_OP; break;
  case L_STEP_CLOSE: m->state = S_AFTER_STEP; break;
  case L_ANSWER_OPEN: m->state = S_LETTER; break;
  case L_DOT: m->state = S_TEXT; m->len = 0; break;
  case L_ANSWER_CLOSE: m->state = S_DONE; break;
  }
}

void hatch_plan_matcher_init(hatch_plan_matcher *m, const hatch_plan_limits *limits) {
  memset(m, 0, sizeof *m);
  if (limits) m->limits = *limits;
  m->verb = -1;
  enter_lit(m, L_ACTION_OPEN, 0);
}

static bool view_ok(const hatch_plan_matcher *m, int v) { return m->limits.n_views <= 0 || v < m->limits.n_views; }

/* Whether a number typed so far can still become a valid value for the verb. */
static bool number_prefix_ok(const hatch_plan_matcher *m) {
  if (hatch_plan_verb_is_turn(m->verb)) {
    int max = (m->verb == HATCH_TURN_UP || m->verb == HATCH_TURN_DOWN) ? 90 : 180;
    return m->int_value <= max;
  }
  return m->int_value <= 99 && m->frac_digits <= 2;
}

/* One byte. capture may be NULL (matching only). */
bool hatch_plan_step_byte(hatch_plan_matcher *m, unsigned char c, hatch_plan_capture *cap) {
  if (m->dead) return false;
  switch (m->state) {
  case S_LIT: {
    const char *lit = literals[m->lit];
    if ((unsigned char)lit[m->lit_pos] != c) goto dead;
    if (lit[++m->lit_pos] == 0) after_literal(m);
    break;
  }
  case S_FROM:
    if (c < '0' || c > '9' || !view_ok(m, c - '0')) goto dead;
    /* A step needs a different "to" view: with n_views == 1 there is none. */
    if (m->limits.n_views == 1) goto dead;
    m->from = c - '0';
    if (cap) hatch_plan_capture_from(cap, m->from);
    enter_lit(m, L_TO, 0);
    break;
  case S_TO:
    if (c < '0' || c > '9' || c - '0' == m->from || !view_ok(m, c - '0')) goto dead;
    if (cap) hatch_plan_capture_to(cap, c - '0');
    enter_lit(m, L_ACTIONS, 0);
    break;
  case S_VERB: {
    unsigned mask = 0;
    int done = -1;
    for (int v = 0; v < HATCH_PLAN_VERB_COUNT; v++) {
      if (!(m->verb_mask & (1u << v)) || (unsigned char)verb_texts[v][m->len] != c) continue;
      mask |= 1u << v;
      if (verb_texts[v][m->len + 1] == 0) done = v;
    }
    m->len++;
    m->verb_mask = mask;
    if (!mask) goto dead;
    /* No verb is a prefix of another, so a completed verb is the only candidate left. */
    if (done >= 0) {
      m->verb = done;
      if (cap) hatch_plan_capture_verb(cap, done);
      enter_lit(m, L_COLON, 0);
    }
    break;
  }
  case S_NUMBER: {
    bool turn = hatch_plan_verb_is_turn(m->verb);
    if (c == ' ') { /* the number ends: it must be complete */
      if (m->len == 0 || (!turn && m->frac_digits < 1)) goto dead;
      if (cap && !hatch_plan_capture_number(cap)) goto dead;
      enter_lit(m, turn ? L_DEG_CLOSE : L_M_CLOSE, 1);
      break;
    }
    if (c == '.') {
      if (turn || m->frac_digits >= 0 || m->len == 0) goto dead;
      m->frac_digits = 0;
    } else if (c >= '0' && c <= '9') {
      if (m->frac_digits >= 0) {
        m->frac_digits++;
      } else {
        if (m->len > 0 && m->int_value == 0) goto dead; /* no leading zeros */
        m->int_value = m->int_value * 10 + (c - '0');
      }
    } else {
      goto dead;
    }
    m->len++;
    if (!number_prefix_ok(m)) goto dead;
    if (cap) hatch_plan_capture_digit(cap, (char)c);
    break;
  }
  case S_AFTER_OP:
    if (c == '{') {
      if (m->n_ops >= HATCH_PLAN_MAX_OPS) goto dead;
      m->lit = L_OP_OPEN;
      after_literal(m);
    } else if (c == ']') {
      enter_lit(m, L_STEP_CLOSE, 0);
    } else {
      goto dead;
    }
    break;
  case S_AFTER_STEP:
    if (c == ',') {
      if (m->n_steps >= HATCH_PLAN_MAX_STEPS) goto dead;
      m->n_steps++;
      m->n_ops = 0;
      if (cap) hatch_plan_capture_new_step(cap);
      enter_lit(m, L_FROM, 0);
    } else if (c == '<') {
      enter_lit(m, L_ANSWER_OPEN, 0);
    } else {
      goto dead;
    }
    break;
  case S_LETTER: {
    int max = m->limits.n_options > 0 ? m->limits.n_options : 26;
    if (c < 'A' || c >= 'A' + max || max > 26) goto dead;
    if (cap) hatch_plan_capture_letter(cap, (char)c);
    enter_lit(m, L_DOT, 0);
    break;
  }
  case S_TEXT:
    if (c == '<') {
      if (m->len == 0) goto dead;
      enter_lit(m, L_ANSWER_CLOSE, 0);
      break;
    }
    if (c < 0x20 || c == 0x7f || m->len >= HATCH_PLAN_MAX_TEXT) goto dead;
    if (cap) hatch_plan_capture_text(cap, (char)c);
    m->len++;
    break;
  case S_DONE:
  default:
    goto dead;
  }
  m->consumed++;
  return true;
dead:
  m->dead = true;
  return false;
}

bool hatch_plan_matcher_feed(hatch_plan_matcher *m, const char *bytes, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!hatch_plan_step_byte(m, (unsigned char)bytes[i], NULL)) return false;
  return !m->dead;
}

bool hatch_plan_matcher_complete(const hatch_plan_matcher *m) { return !m->dead && m->state == S_DONE; }

/* What the machine expected at its current state, for error messages. */
const char *hatch_plan_expected(const hatch_plan_matcher *m) {
  switch (m->state) {
  case S_LIT: return literals[m->lit];
  case S_FROM: return "a view index (from)";
  case S_TO: return "a view index (to) different from 'from'";
  case S_VERB: return "turn left|right|up|down or move forward|up|down";
  case S_NUMBER: return hatch_plan_verb_is_turn(m->verb) ? "integer degrees (0..180, up/down 0..90) then \" deg}\""
                                                          : "metres with 1-2 decimals (0.0..99.99) then \" m}\"";
  case S_AFTER_OP: return "'{' (another action, at most 8) or ']'";
  case S_AFTER_STEP: return "',' (another step, at most 8) or \"</action>\"";
  case S_LETTER: return "an answer letter within the options";
  case S_TEXT: return "answer text (printable, at most 120 bytes) then \"</answer>\"";
  default: return "the end of the plan";
  }
}
