using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

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
        services.AddOptions<LineClientOptions>().BindConfiguration(LineClientOptions.SectionName)
            .Validate(options => options.MaxConnections > 0, $"{LineClientOptions.SectionName}:MaxConnections must be at least 1.")
            .ValidateOnStart();
        services.AddSingleton<LineConnectionGate>();
        services.AddHttpClient<ILineMessagingClient, LineMessagingClient>(client =>
                // LineClientOptions.Timeout is enforced per call; this only stops HttpClient's own 100 s default interfering.
                client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(services => new SocketsHttpHandler
            {
                // Re-resolve DNS now and then: api.line.me moves, and a long-lived silo would otherwise pin one address.
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                MaxConnectionsPerServer = services.GetRequiredService<IOptions<LineClientOptions>>().Value.MaxConnections,
            })
            // HttpClient's own logging writes four lines per call at Information (a silo pushing 2,000/s logged
            // 8,000 lines a second); the client logs what matters itself, with LINE's request id.
            .RemoveAllLoggers();
        return services;
    }
}
