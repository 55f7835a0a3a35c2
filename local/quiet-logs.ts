/**
 * Imported first by CLIs whose stdout is their result (npm run export): ESM evaluates imports in order,
 * so this runs before any handler module creates its logger, which takes its level at creation.
 */
process.env.LOG_LEVEL = 'ERROR';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
