using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Stepcast.FakeLine;
using Stepcast.Grains;
using Stepcast.Silo.Operations;
using Stepcast.Tests.Api;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Operations;

/// <summary>The embedded host's probes and its behaviour once shutdown has begun (before the listener closes).</summary>
public sealed class HealthEndpointTests
{
    private const string Secret = "sandbox-channel-secret";

    /// <summary>An embedded host on ports of its own, so it runs beside the other embedded-host tests.</summary>
    private sealed class OwnPortsHost : WebApplicationFactory<Program>
    {
        public GrainStorageFaults FriendStorageFaults { get; } = new();

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseSetting("Stepcast:Cluster:SiloPort", LoopbackPorts.Free().ToString());
            builder.UseSetting("Stepcast:Cluster:GatewayPort", LoopbackPorts.Free().ToString());
            builder.ConfigureTestServices(services => FaultInjectingGrainStorage.Decorate(services, StorageNames.Friends, FriendStorageFaults));
        }
    }

    [Fact]
    public async Task A_started_host_is_live_started_and_ready_and_exports_metrics()
    {
        await using var host = new OwnPortsHost();
        var http = host.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/startup")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
        var accepted = await http.SendAsync(new LineWebhookBody().Follow("Uhealth0001").ToSignedRequest("/webhooks/line/sandbox", Secret));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);

        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("stepcast_webhook_events_total{", metrics);
        Assert.Contains("stepcast_friends_active{", metrics);
        Assert.True(PrometheusText.Sum(metrics, "stepcast_grain_storage_duration_seconds_count", ("state", "friend"), ("operation", "write"), ("outcome", "ok")) >= 1,
            "the follow's friend write should show in stepcast_grain_storage_duration_seconds");
        // The memory gauges an SRE alerts on before the runtime starts shedding activations.
        Assert.Matches(@"(?m)^stepcast_silo_memory_load\{[^}]*\} [0-9.eE+-]+$", metrics);
        Assert.Matches(@"(?m)^stepcast_silo_short_of_memory\{[^}]*\} [01]$", metrics);
        // Orleans' meter is exported, except the instruments it records for every message.
        Assert.Contains("orleans_catalog_activations{", metrics);
        Assert.Contains("orleans_app_requests_latency_milliseconds_bucket{", metrics);
        Assert.DoesNotContain("orleans_messaging_sent_local", metrics);
        Assert.DoesNotContain("orleans_messaging_processing_dispatcher_received", metrics);
        Assert.DoesNotContain("orleans_messaging_sent_header_size", metrics);
    }

    [Fact]
    public async Task A_state_write_that_fails_shows_on_metrics_for_the_storage_outage_runbook()
    {
        await using var host = new OwnPortsHost();
        var http = host.CreateClient();
        // Counted from here: the exporter may also hear other test hosts' meters of the same name in this process.
        var before = FailedWrites(await http.GetStringAsync("/metrics"));

        host.FriendStorageFaults.FailWrites = true;
        var refused = await http.SendAsync(new LineWebhookBody().Follow("Uhealth0003").ToSignedRequest("/webhooks/line/sandbox", Secret));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);

        // The page is cached for a moment after each scrape.
        await Eventually.UntilAsync(async () => FailedWrites(await http.GetStringAsync("/metrics")), failed => failed > before, TimeSpan.FromSeconds(5));
    }

    private static double FailedWrites(string metrics) =>
        PrometheusText.Sum(metrics, "stepcast_grain_storage_duration_seconds_count", ("operation", "write"), ("outcome", "failed"));

    [Fact]
    public async Task A_draining_host_stays_live_but_is_not_ready_and_turns_new_webhooks_away_with_503()
    {
        await using var host = new OwnPortsHost();
        var http = host.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);

        // What SIGTERM starts: the drain is the first service to stop.
        await host.Services.GetRequiredService<HostDrain>().StoppingAsync(CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/health/ready")).StatusCode);
        var refused = await http.SendAsync(new LineWebhookBody().Follow("Uhealth0002").ToSignedRequest("/webhooks/line/sandbox", Secret));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Contains("shutting down", await refused.Content.ReadAsStringAsync());
    }
}
