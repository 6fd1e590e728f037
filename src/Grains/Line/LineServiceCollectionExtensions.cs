using Microsoft.Extensions.DependencyInjection;

namespace Stepcast.Grains.Line;

/// <summary>Registers the LINE client for a host.</summary>
public static class LineServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ILineMessagingClient"/> as a typed HttpClient with <see cref="LineClientOptions"/> bound
    /// from the <c>Line</c> configuration section.
    /// </summary>
    public static IServiceCollection AddLineMessagingClient(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<LineClientOptions>().BindConfiguration(LineClientOptions.SectionName);
        services.AddHttpClient<ILineMessagingClient, LineMessagingClient>(client =>
                // LineClientOptions.Timeout is enforced per call; this only stops HttpClient's own 100 s default interfering.
                client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                // Re-resolve DNS now and then: api.line.me moves, and a long-lived silo would otherwise pin one address.
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            });
        return services;
    }
}
