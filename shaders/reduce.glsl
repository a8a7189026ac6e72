// Workgroup-wide sum and max through shared memory: portable to any subgroup size.
// Requires a power-of-two workgroup; every invocation must call it (it has barriers).
shared float hatch_red[gl_WorkGroupSize.x];

float hatch_group_sum(float v) {
  uint t = gl_LocalInvocationID.x;
  hatch_red[t] = v;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
    if (t < s) hatch_red[t] += hatch_red[t + s];
    barrier();
  }
  float r = hatch_red[0];
  barrier();
  return r;
}

float hatch_group_max(float v) {
  uint t = gl_LocalInvocationID.x;
  hatch_red[t] = v;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
    if (t < s) hatch_red[t] = max(hatch_red[t], hatch_red[t + s]);
    barrier();
  }
  float r = hatch_red[0];
  barrier();
  return r;
}
