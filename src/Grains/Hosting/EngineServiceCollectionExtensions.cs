using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Clicks;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Delivery.Multicast;
using Stepcast.Grains.Diagnostics;
using Stepcast.Grains.Line;
using Stepcast.Grains.Quota;
using Stepcast.Grains.RateLimiting;
using Stepcast.Grains.Stats;

namespace Stepcast.Grains.Hosting;

public static class EngineServiceCollectionExtensions
{
    /// <summary>
    /// The services friend and scenario grains need, whatever the topology. Registrations already made
    /// (a test's fake clock, a delivery of its own) are kept.
    /// </summary>
    /// <remarks>
    /// Delivery routes per channel (<see cref="ChannelRoutingDelivery"/>): channels with an access token push to LINE
    /// (<c>Line:ApiBaseUrl</c>, retries under <c>Stepcast:Delivery</c>, cluster-wide rate limits under
    /// <c>Stepcast:RateLimits</c>), the others record into the sandbox.
    /// </remarks>
    public static IServiceCollection AddStepcastEngine(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EngineOptions>().Bind(configuration.GetSection(EngineOptions.SectionName))
            .Validate(
                engine => engine.ThrottledRetryWindow >= TimeSpan.Zero && engine.ThrottledRetryWindow <= EngineOptions.MaxThrottledRetryWindow,
                $"{EngineOptions.SectionName}:ThrottledRetryWindow must be between 0 and {EngineOptions.MaxThrottledRetryWindow} (Orleans' grain call timeout is 30 s).")
            .Validate(
                engine => engine.WakeSlotHorizon >= TimeSpan.Zero && engine.WakeSlotConcurrency >= 1,
                $"{EngineOptions.SectionName}:WakeSlotHorizon must not be negative (zero turns wake slots off), and WakeSlotConcurrency must be at least 1.")
            .Validate(
                engine => engine.SafetyNetSweepPeriod > TimeSpan.Zero,
                $"{EngineOptions.SectionName}:SafetyNetSweepPeriod must be positive.")
            .Validate(
                engine => engine.ShortOfMemoryAtLoadPercent >= 0,
                $"{EngineOptions.SectionName}:ShortOfMemoryAtLoadPercent must be a percentage: 0 (always short) to 100, or above 100 to turn it off.")
            .ValidateOnStart();
        services.AddOptions<DeliveryOptions>().Bind(configuration.GetSection(DeliveryOptions.SectionName));
        services.AddOptions<RateLimitOptions>().Bind(configuration.GetSection(RateLimitOptions.SectionName));
        services.AddOptions<QuotaOptions>().Bind(configuration.GetSection(QuotaOptions.SectionName));
        services.AddOptions<PlanPricingOptions>().Bind(configuration.GetSection(PlanPricingOptions.SectionName));
        services.AddOptions<LineClientOptions>().Bind(configuration.GetSection(LineClientOptions.SectionName));
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<StepcastMetrics>();
        services.TryAddSingleton<Friends.MemoryPressure>();
        services.TryAddSingleton<ScenarioCatalog>();
        services.TryAddSingleton<ChannelSettingsCache>();
        services.TryAddSingleton<SandboxDeliveryRecorder>();
        services.TryAddSingleton<ChannelRateLimiter>();
        if (!services.Any(d => d.ServiceType == typeof(ILineMessagingClient)))
        {
            services.AddLineMessagingClient();
        }

        services.TryAddSingleton<LineMessageDelivery>();
        services.TryAddSingleton<ChannelRoutingDelivery>();
        services.TryAddSingleton<IMessageDelivery>(sp => sp.GetRequiredService<ChannelRoutingDelivery>());
        services.TryAddSingleton<IMulticastDelivery>(sp => sp.GetRequiredService<ChannelRoutingDelivery>());
        services.TryAddSingleton<MulticastCoalescer>();
        services.AddOptions<StatsOptions>().Bind(configuration.GetSection(StatsOptions.SectionName));
        services.AddOptions<Campaigns.CampaignOptions>().Bind(configuration.GetSection(Campaigns.CampaignOptions.SectionName));
        services.AddOptions<ClickOptions>().Bind(configuration.GetSection(ClickOptions.SectionName));
        services.TryAddSingleton<StatsCollector>();
        services.TryAddSingleton<ClickTokens>();
        return services;
    }
}
