// An Etsy statsd backend that only reports how many lines it received in
// each flush on stdout, so the bench can total them; it does no other work,
// which favours Etsy (a graphite backend would cost it more).
exports.init = function (startupTime, config, events) {
  events.on('flush', (timestamp, metrics) => {
    const received = metrics.counters['statsd.metrics_received'] || 0;
    process.stdout.write(`${JSON.stringify({ flushedMetricsReceived: received })}\n`);
  });
  return true;
};
