#ifndef ALTS_RUNNER_DOCKER_H
#define ALTS_RUNNER_DOCKER_H

/*
 * The settings of the docker runner (runners/docker.c): environment.docker,
 * decoded with the runner's key table. Also filled by runners/command.c
 * from what a provisioner printed.
 */

#include "framework/conf.h"

struct docker_conf {
	const char *url;       /* unix:///path, tcp://host:port, https://host:port; NULL: DOCKER_HOST or the default socket */
	const char *image;     /* one image for every distribution, or NULL */
	struct strmap images;  /* `image` given as a mapping: "<dist_name>-<dist_version>" -> image */
	const char *platform;  /* e.g. linux/arm64/v8; NULL: from dist_arch */
};

#endif
