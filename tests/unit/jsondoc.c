/* Unit tests for framework/jsondoc.c: the same document as libyaml's parser, for every JSON shape. */
#include "helpers.h"
#include "framework/conf.h"
#include "framework/jsondoc.h"

/* Same node kinds, styles, values and order in both documents, from nodes a and b down. */
static void assert_same_node(yaml_document_t *da, yaml_node_t *a, yaml_document_t *db, yaml_node_t *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->type, b->type);
	assert_string_equal((const char *)a->tag, (const char *)b->tag);
	switch (a->type) {
	case YAML_SCALAR_NODE:
		assert_int_equal(a->data.scalar.style, b->data.scalar.style);
		assert_int_equal(a->data.scalar.length, b->data.scalar.length);
		assert_memory_equal(a->data.scalar.value, b->data.scalar.value, a->data.scalar.length);
		break;
	case YAML_SEQUENCE_NODE: {
		yaml_node_item_t *ia = a->data.sequence.items.start, *ib = b->data.sequence.items.start;

		assert_int_equal(a->data.sequence.items.top - ia, b->data.sequence.items.top - ib);
		for (; ia < a->data.sequence.items.top; ia++, ib++)
			assert_same_node(da, yaml_document_get_node(da, *ia), db, yaml_document_get_node(db, *ib));
		break;
	}
	case YAML_MAPPING_NODE: {
		yaml_node_pair_t *pa = a->data.mapping.pairs.start, *pb = b->data.mapping.pairs.start;

		assert_int_equal(a->data.mapping.pairs.top - pa, b->data.mapping.pairs.top - pb);
		for (; pa < a->data.mapping.pairs.top; pa++, pb++) {
			assert_same_node(da, yaml_document_get_node(da, pa->key), db, yaml_document_get_node(db, pb->key));
			assert_same_node(da, yaml_document_get_node(da, pa->value), db,
					 yaml_document_get_node(db, pb->value));
		}
		break;
	}
	default:
		fail_msg("unexpected node type %d", a->type);
	}
}

static void assert_same_as_libyaml(const char *json)
{
	struct alts_err err = ALTS_ERR_INIT;
	yaml_document_t fast, ref;

	if (jsondoc_load(&fast, json, strlen(json)))
		fail_msg("jsondoc refused %s", json);
	assert_ok_err(conf_load_document(&ref, "t", json, strlen(json), &err), &err);
	assert_same_node(&fast, yaml_document_get_root_node(&fast), &ref, yaml_document_get_root_node(&ref));
	yaml_document_delete(&fast);
	yaml_document_delete(&ref);
}

static void test_jsondoc__same_document_as_libyaml(void **state)
{
	static const char *const docs[] = {
		"{}",
		"[]",
		"{\"a\":1}",
		" {\n\t\"a\" : [ 1 , -2.50 , 3e10 , 8.10 , 0 ] ,\r\n \"b\":{\"c\":[],\"d\":{}} }\n",
		"{\"t\":true,\"f\":false,\"n\":null,\"s\":\"null\",\"e\":\"\"}",
		"{\"esc\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t\"}",
		"{\"u\":\"\\u00e9\\u20ac caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
		"[[[[[[\"deep\"]]]]]]",
		"{\"dist_version\":9,\"v\":\"9\",\"list\":[\"a\",1,null,{\"k\":[true]}]}",
		"\"a top-level string\"",
		"-12.5e-3",
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(docs); i++)
		assert_same_as_libyaml(docs[i]);
}

/* A surrogate pair is one character (libyaml refuses the escape: JSON that its parser could not read). */
static void test_jsondoc__surrogate_pairs(void **state)
{
	const char *json = "[\"\\ud83d\\ude00!\"]";
	yaml_document_t doc;
	yaml_node_t *item;

	ALTS_UNUSED(state);
	assert_int_equal(jsondoc_load(&doc, json, strlen(json)), 0);
	item = yaml_document_get_node(&doc, *yaml_document_get_root_node(&doc)->data.sequence.items.start);
	assert_string_equal((const char *)item->data.scalar.value, "\xf0\x9f\x98\x80!");
	yaml_document_delete(&doc);
}

/* Input it does not expect (the caller checks JSON first, but must never read out of bounds). */
static void test_jsondoc__refuses_what_it_does_not_expect(void **state)
{
	static const char *const bad[] = {
		"", "   ", "{", "[", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,", "[1,", "[1 2]", "{1:2}", "\"open",
		"\"bad escape \\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\ud800\\u0041\"", "\"\\udc00\"", "\"\\u0000\"",
		"{\"a\":1}}", "[1] x", "{\"a\" 1}", "\"\\",
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++) {
		yaml_document_t doc;

		if (!jsondoc_load(&doc, bad[i], strlen(bad[i]))) {
			yaml_document_delete(&doc);
			fail_msg("accepted '%s'", bad[i]);
		}
	}
}

static void test_jsondoc__deep_nesting_is_bounded(void **state)
{
	char *deep = alts_malloc(2 * 5000 + 1);
	yaml_document_t doc;

	ALTS_UNUSED(state);
	assert_non_null(deep);
	memset(deep, '[', 5000);
	memset(deep + 5000, ']', 5000);
	deep[10000] = '\0';
	assert_int_equal(jsondoc_load(&doc, deep, strlen(deep)), -1);
	deep[2000 * 2] = '\0';
	memset(deep + 2000, ']', 2000);
	assert_int_equal(jsondoc_load(&doc, deep, strlen(deep)), 0);
	yaml_document_delete(&doc);
	alts_free(deep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsondoc__same_document_as_libyaml),
		cmocka_unit_test(test_jsondoc__surrogate_pairs),
		cmocka_unit_test(test_jsondoc__refuses_what_it_does_not_expect),
		cmocka_unit_test(test_jsondoc__deep_nesting_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
