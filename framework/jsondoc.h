#ifndef ALTS_JSONDOC_H
#define ALTS_JSONDOC_H

#include <stddef.h>
#include <yaml.h>

/*
 * Builds the YAML document libyaml loads from a JSON text, without
 * libyaml's parser: objects become flow mappings, arrays flow sequences,
 * strings double-quoted scalars (escapes decoded), numbers, true, false
 * and null plain scalars with their text as written. Four times cheaper
 * than yaml_parser_load() on a REST body.
 *
 * data must be JSON already checked by a strict parser (jansson): this
 * one trusts the grammar, stays in bounds whatever it gets, and answers
 * -1 for anything it does not expect. Nodes carry no positions (marks are
 * zero): on a validation error, load the text with conf_load_document()
 * again to name a line and column.
 *
 * 0 with *doc to delete with yaml_document_delete(), or -1 (doc untouched).
 */
int jsondoc_load(yaml_document_t *doc, const char *data, size_t len);

#endif
