# Installs swagger-ui-dist (pinned in package.json/package-lock.json) into DEST with `npm ci`.
# Run by CMake at build time: -DNPM=npm -DSRC=scheduler/ui -DDEST=<build>/swagger-ui.
# A failure (offline build) is a warning: the scheduler then answers 404 on /docs.
file(MAKE_DIRECTORY ${DEST})
configure_file(${SRC}/package.json ${DEST}/package.json COPYONLY)
configure_file(${SRC}/package-lock.json ${DEST}/package-lock.json COPYONLY)
execute_process(
  COMMAND ${NPM} ci --ignore-scripts --no-audit --no-fund --loglevel=error
  WORKING_DIRECTORY ${DEST}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT EXISTS ${DEST}/node_modules/swagger-ui-dist/swagger-ui-bundle.js)
  message(WARNING "npm ci in ${DEST} failed (${rc}): the Swagger UI for /docs is not installed")
endif()
file(TOUCH ${DEST}/stamp)
