using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Delivery;

namespace Stepcast.Grains.Hosting;

public static class EngineServiceCollectionExtensions
{
    /// <summary>
    /// The services friend and scenario grains need, whatever the topology. Registrations already made
    /// (a test's fake clock, the LINE delivery) are kept.
    /// </summary>
    public static IServiceCollection AddStepcastEngine(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EngineOptions>().Bind(configuration.GetSection(EngineOptions.SectionName));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ScenarioCatalog>();
        services.TryAddSingleton<ChannelSettingsCache>();
        services.TryAddSingleton<SandboxDeliveryRecorder>();
        services.TryAddSingleton<IMessageDelivery>(sp => sp.GetRequiredService<SandboxDeliveryRecorder>());
        return services;
    }
}
