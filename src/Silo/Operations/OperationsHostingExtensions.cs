using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Dashboard;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Stepcast.Grains.Diagnostics;

namespace Stepcast.Silo.Operations;

/// <summary>
/// What SREs need from every Stepcast process: probes, a graceful drain on SIGTERM, Prometheus metrics, JSON logs
/// carrying trace ids, and (on silos, when enabled) the Orleans Dashboard.
/// </summary>
public static class OperationsHostingExtensions
{
    /// <summary><c>Stepcast:Dashboard:Enabled</c>: mount the Orleans Dashboard at <see cref="DashboardPath"/> on silo hosts.</summary>
    public const string DashboardEnabledKey = "Stepcast:Dashboard:Enabled";

    public const string DashboardPath = "/dashboard";

    /// <summary>
    /// Orleans instruments recorded for every message a silo or client sends or handles: sizes, and counts that
    /// <c>orleans-app-requests-latency</c> and the gateway counters already give. About 1 % of a silo's CPU in a
    /// profile of webhook ingest on PostgreSQL (a third of what went to recording metrics), for figures nobody alerts
    /// on. Not collected; the rest of Orleans' meter is.
    /// </summary>
    public static readonly IReadOnlyList<string> PerMessageOrleansInstruments =
    [
        "orleans-messaging-sent-messages-size",
        "orleans-messaging-sent-header-size",
        "orleans-messaging-received-messages-size",
        "orleans-messaging-received-header-size",
        "orleans-messaging-sent-local",
        "orleans-messaging-processing-dispatcher-received",
        "orleans-messaging-processing-dispatcher-processed",
        "orleans-messaging-processing-dispatcher-forwarded",
        "orleans-messaging-processing-ima-received",
        "orleans-messaging-processing-ima-enqueued",
    ];

    /// <param name="serviceName">The <c>service.name</c> every metric carries (<c>stepcast-silo</c>, <c>stepcast-api</c>).</param>
    /// <param name="hostsSilo">A silo runs in this process (readiness follows its membership) rather than a client.</param>
    public static WebApplicationBuilder AddStepcastOperations(this WebApplicationBuilder builder, string serviceName, bool hostsSilo)
    {
        builder.Services.AddOptions<ShutdownOptions>()
            .Bind(builder.Configuration.GetSection(ShutdownOptions.SectionName))
            .Validate(o => o.Timeout > o.DrainDelay, $"{ShutdownOptions.SectionName}:Timeout must be longer than the drain delay.")
            .ValidateOnStart();
        builder.Services.AddOptions<HostOptions>()
            .Configure<IOptions<ShutdownOptions>>((host, shutdown) => host.ShutdownTimeout = shutdown.Value.Timeout);
        // Registered after the Orleans silo or client: stopping runs in reverse order, so the drain comes first.
        builder.Services.TryAddSingleton<HostDrain>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HostDrain>());

        var checks = builder.Services.AddHealthChecks()
            .AddCheck<LifecycleHealthCheck>("lifecycle", tags: [HealthTags.Startup, HealthTags.Ready]);
        if (hostsSilo)
        {
            checks.AddCheck<SiloMembershipHealthCheck>("silo-membership", tags: [HealthTags.Ready]);
            builder.Services.AddOptions<QuietCollectionOptions>()
                .Bind(builder.Configuration.GetSection(QuietCollectionOptions.SectionName))
                .Validate(o => o.QuietFor >= TimeSpan.Zero && o.SamplePeriod > TimeSpan.Zero && o.QuietBelowCores > 0 && o.MinimumYoungBytes >= 0,
                    $"{QuietCollectionOptions.SectionName}: SamplePeriod and QuietBelowCores must be positive, QuietFor and MinimumYoungBytes not negative.")
                .ValidateOnStart();
            builder.Services.AddHostedService<QuietCollector>();
        }
        else
        {
            builder.Services.TryAddSingleton<ClusterConnectionState>();
            checks.AddCheck<ClusterClientHealthCheck>("cluster-client", tags: [HealthTags.Ready]);
        }

        builder.Services.TryAddSingleton<StepcastMetrics>();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(StepcastMetrics.MeterName, "Microsoft.Orleans", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime");
                foreach (var instrument in PerMessageOrleansInstruments)
                {
                    metrics.AddView(instrument, MetricStreamConfiguration.Drop);
                }

                metrics.AddPrometheusExporter();
            });

        // With Logging:Console:FormatterName=json (set by the manifests) every line is one JSON object whose scopes
        // carry the trace and span ids of the request or grain call that wrote it.
        builder.Logging.Configure(options => options.ActivityTrackingOptions =
            ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        return builder;
    }

    /// <summary>Reports the Orleans client's gateway count to the readiness check.</summary>
    public static IClientBuilder AddStepcastConnectionState(this IClientBuilder client)
    {
        client.Services.TryAddSingleton<ClusterConnectionState>();
        client.Services.AddSingleton<GatewayCountChangedHandler>(sp =>
        {
            var state = sp.GetRequiredService<ClusterConnectionState>();
            return (_, e) => state.GatewayCountChanged(e.NumberOfConnectedGateways);
        });
        client.Services.AddSingleton<ConnectionToClusterLostHandler>(sp =>
        {
            var state = sp.GetRequiredService<ClusterConnectionState>();
            return (_, _) => state.ConnectionLost();
        });
        return client;
    }

    /// <summary>Adds the Orleans Dashboard's services when <see cref="DashboardEnabledKey"/> is true.</summary>
    public static ISiloBuilder AddStepcastDashboard(this ISiloBuilder silo, IConfiguration configuration)
    {
        if (configuration.GetValue<bool>(DashboardEnabledKey))
        {
            silo.AddDashboard();
        }

        return silo;
    }

    /// <summary><c>/health/live</c>, <c>/health/ready</c>, <c>/health/startup</c>, <c>/metrics</c> and the dashboard.</summary>
    public static WebApplication MapStepcastOperations(this WebApplication app)
    {
        // Liveness asks only that the process answers: restarting a pod whose dependencies are down cures nothing.
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/startup", new HealthCheckOptions { Predicate = c => c.Tags.Contains(HealthTags.Startup) });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(HealthTags.Ready) });
        app.MapPrometheusScrapingEndpoint();
        // Only where a silo runs: the dashboard's services come with the silo (AddStepcastDashboard).
        if (app.Configuration.GetValue<bool>(DashboardEnabledKey) && app.Services.GetService<Orleans.Runtime.ILocalSiloDetails>() is not null)
        {
            app.MapOrleansDashboard(DashboardPath);
        }

        return app;
    }
}
