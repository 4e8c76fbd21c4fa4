/**
 * Node-RED settings for bench/collector_throughput.py: headless, loopback only.
 *
 * The bench starts `node red.js --settings <this file> --userDir <run dir> --port <free
 * port> flows.json`, with stdout and stderr going to <run dir>/node-red.log. There is no
 * editor and no admin API; the only HTTP route is the bench's own probe, GET
 * /bench/stats (an `http in` node of the flow's "bench probes" tab). No credentials are
 * used (InfluxDB 1.6 and Mosquitto on loopback, no auth), so no credential secret is
 * asked for or generated. Nothing is fetched or installed at run time.
 */
module.exports = {
    uiHost: "127.0.0.1",
    uiPort: 1880, // the bench passes --port
    httpAdminRoot: false, // no editor, no admin API
    disableEditor: true,
    httpNodeRoot: "/", // the probe's GET /bench/stats
    flowFilePretty: false,
    credentialSecret: false,
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    telemetry: { enabled: false, updateNotification: false },
    externalModules: {
        autoInstall: false,
        palette: { allowInstall: false, allowUpload: false },
        modules: { allowInstall: false },
    },
    functionExternalModules: false,
    exportGlobalContextKeys: false,
    contextStorage: { default: { module: "memory" } },
    logging: { console: { level: "info", metrics: false, audit: false } },
};
