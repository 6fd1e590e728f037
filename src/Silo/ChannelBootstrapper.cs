using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Channels;

namespace Stepcast.Silo;

/// <summary>A channel to register at start (one element of <c>Stepcast:Channels</c>).</summary>
public sealed class ChannelRegistration
{
    public string? ChannelId { get; set; }
    public string? ChannelSecret { get; set; }

    /// <summary>Without one, the channel's pushes go to the sandbox recorder instead of LINE.</summary>
    public string? AccessToken { get; set; }

    /// <summary>IANA time zone; <c>Asia/Tokyo</c> when absent.</summary>
    public string? TimeZone { get; set; }
}

/// <summary>The channels <see cref="ChannelBootstrapper"/> registers: <c>Stepcast:Channels</c>, plus the sandbox's in the embedded host.</summary>
public sealed class ChannelBootstrapOptions
{
    public const string SectionName = "Stepcast:Channels";

    public List<ChannelRegistration> Channels { get; } = [];
}

/// <summary>
/// Registers (or updates) the channels listed in configuration at start, until channels get a management API.
/// Configuration wins: a listed channel's secret and token are written on every start. Nothing secret is logged.
/// </summary>
public sealed partial class ChannelBootstrapper(
    ChannelSettingsCache channels,
    IOptions<ChannelBootstrapOptions> options,
    ILogger<ChannelBootstrapper> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Validate everything first, so a typo in the third channel does not leave the first two half-applied.
        var settings = options.Value.Channels.Select(ToSettings).ToList();
        foreach (var channel in settings)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await channels.ConfigureAsync(channel);
            LogRegistered(channel.ChannelId, channel.AccessToken is not null, channel.TimeZone);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static ChannelSettings ToSettings(ChannelRegistration registration, int index)
    {
        var where = $"{ChannelBootstrapOptions.SectionName}:{index}";
        if (string.IsNullOrWhiteSpace(registration.ChannelId) || registration.ChannelId.Contains('/'))
        {
            throw new InvalidOperationException($"{where}:ChannelId is required and may not contain '/'.");
        }

        if (string.IsNullOrEmpty(registration.ChannelSecret))
        {
            throw new InvalidOperationException($"{where}:ChannelSecret is required for channel {registration.ChannelId}.");
        }

        var timeZone = string.IsNullOrWhiteSpace(registration.TimeZone) ? null : registration.TimeZone.Trim();
        if (timeZone is not null && !TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out _))
        {
            throw new InvalidOperationException($"{where}:TimeZone '{timeZone}' of channel {registration.ChannelId} is not a known time zone.");
        }

        var settings = new ChannelSettings
        {
            ChannelId = registration.ChannelId.Trim(),
            ChannelSecret = registration.ChannelSecret,
            AccessToken = string.IsNullOrEmpty(registration.AccessToken) ? null : registration.AccessToken,
        };
        return timeZone is null ? settings : settings with { TimeZone = timeZone };
    }

    [LoggerMessage(LogLevel.Information, "Registered channel {ChannelId} at start (access token: {HasAccessToken}, time zone {TimeZone})")]
    private partial void LogRegistered(string channelId, bool hasAccessToken, string timeZone);
}

public static class ChannelBootstrapperExtensions
{
    /// <summary>Registers the channels of <c>Stepcast:Channels</c> at start.</summary>
    public static IServiceCollection AddChannelBootstrapper(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ChannelBootstrapOptions>()
            .Configure(options => configuration.GetSection(ChannelBootstrapOptions.SectionName).Bind(options.Channels));
        services.AddHostedService<ChannelBootstrapper>();
        return services;
    }
}
