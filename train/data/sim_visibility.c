/* Which objects each view of a synthetic world shows, and how much (hatch/sim_dataset.h): from the
 * renderer's id maps, or from projected bounding boxes for hand-built worlds. */
#include <math.h>
#include <string.h>

#include "hatch/sim_dataset.h"

#define DEG (3.14159265358979323846 / 180.0)

void hatch_sim_visibility_init(hatch_sim_visibility *vis, const hatch_sim_world *world) {
  memset(vis, 0, sizeof *vis);
  vis->n_views = world->n_views;
  vis->n_objects = world->n_objects;
  for (int v = 0; v < world->n_views && v < HATCH_SIM_MAX_VIEWS; v++)
    vis->view_pixels[v] = world->views[v].width * world->views[v].height;
}

hatch_status hatch_sim_visibility_add_ids(hatch_sim_visibility *vis, const hatch_sim_world *world, int view,
                                          const int16_t *ids) {
  if (!vis || !world || !ids || view < 0 || view >= world->n_views || view >= HATCH_SIM_MAX_VIEWS)
    return HATCH_ERR_INVALID_ARGUMENT;
  const hatch_sim_camera *cam = &world->views[view];
  int64_t n = (int64_t)cam->width * cam->height; // ids: (height, width)
  int counts[HATCH_SIM_MAX_OBJECTS] = {0};
  double columns[HATCH_SIM_MAX_OBJECTS] = {0};
  for (int64_t i = 0; i < n; i++) {
    int id = ids[i];
    if (id < -1 || id >= world->n_objects) return HATCH_ERR_CORRUPT;
    if (id >= 0) counts[id]++, columns[id] += (double)(i % cam->width);
  }
  for (int o = 0; o < world->n_objects; o++) vis->pixels[view][o] += counts[o], vis->column_sum[view][o] += columns[o];
  vis->view_pixels[view] = (int)n;
  return HATCH_OK;
}

/* Pixel area of an object's projected bounding box, clipped to the image, and the box's centre column;
 * 0 when its centre is behind. */
static int projected_area(const hatch_sim_camera *cam, const hatch_sim_object *ob, double *centre_column) {
  double c[3];
  hatch_sim_world_to_camera(cam, ob->centre, c);
  if (c[2] <= 0.05) return 0;
  double cy = cos(ob->yaw_deg * DEG), sy = sin(ob->yaw_deg * DEG);
  double u0 = 1e30, u1 = -1e30, v0 = 1e30, v1 = -1e30;
  for (int k = 0; k < 8; k++) {
    double lx = (k & 1 ? 0.5 : -0.5) * ob->size[0], ly = (k & 2 ? 0.5 : -0.5) * ob->size[1];
    double lz = (k & 4 ? 0.5 : -0.5) * ob->size[2];
    double w[3] = {ob->centre[0] + lx * cy + lz * sy, ob->centre[1] + ly, ob->centre[2] - lx * sy + lz * cy};
    double p[3];
    hatch_sim_world_to_camera(cam, w, p);
    double z = p[2] < 0.05 ? 0.05 : p[2];
    double u = cam->cx + cam->fx * p[0] / z, v = cam->cy + cam->fy * p[1] / z;
    u0 = fmin(u0, u), u1 = fmax(u1, u), v0 = fmin(v0, v), v1 = fmax(v1, v);
  }
  u0 = fmax(u0, 0), v0 = fmax(v0, 0), u1 = fmin(u1, cam->width), v1 = fmin(v1, cam->height);
  if (u1 <= u0 || v1 <= v0) return 0;
  *centre_column = 0.5 * (u0 + u1);
  return (int)((u1 - u0) * (v1 - v0));
}

void hatch_sim_visibility_from_geometry(const hatch_sim_world *world, hatch_sim_visibility *vis) {
  hatch_sim_visibility_init(vis, world);
  for (int v = 0; v < vis->n_views; v++)
    for (int o = 0; o < vis->n_objects && o < HATCH_SIM_MAX_OBJECTS; o++) {
      double centre = 0;
      vis->pixels[v][o] = projected_area(&world->views[v], &world->objects[o], &centre);
      vis->column_sum[v][o] = centre * vis->pixels[v][o];
    }
}
