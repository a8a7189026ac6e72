// Angle reduction for RoPE: positions reach tens of thousands of radians, where GPU sin/cos lose
// accuracy (Vulkan only bounds their error on [-pi, pi]). Cody-Waite with 2*pi split in three
// parts: k*P1 and k*P2 are exact for |k| < 2^16 (8-bit mantissas), so r keeps theta's accuracy.
float hatch_reduce_angle(float theta) {
  const float P1 = 6.28125;
  const float P2 = 0.00193023681640625;
  const float P3 = 5.070363386039389e-06;
  precise float k = round(theta * 0.15915494309189535);
  precise float r = ((theta - k * P1) - k * P2) - k * P3;
  return r;
}
