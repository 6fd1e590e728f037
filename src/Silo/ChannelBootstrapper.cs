using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Quota;
using Stepcast.Grains.Scenarios;

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

    /// <summary>The channel's auto-reply rules, tried in order (<c>…:AutoReplies:{m}</c>); none when absent.</summary>
    public List<AutoReplyRegistration> AutoReplies { get; } = [];

    /// <summary>
    /// The LINE plan (<c>communication</c>, <c>light</c>, <c>standard</c>, <c>custom</c>, <c>unlimited</c>); when absent the
    /// channel's plan is left as it is (set through the API, or unlimited).
    /// </summary>
    public string? Plan { get; set; }

    /// <summary>Standard plan only: the paid messages a month beyond the free 30,000.</summary>
    public long? ExtraMessageCap { get; set; }

    /// <summary>The custom plan's monthly limit.</summary>
    public long? CustomMonthlyLimit { get; set; }

    /// <summary><c>pause</c> (the default) or <c>skip</c>: what a send does once the month's budget is spent.</summary>
    public string? WhenExhausted { get; set; }
}

/// <summary>One auto-reply rule from configuration: keywords and the text messages that answer them.</summary>
public sealed class AutoReplyRegistration
{
    public List<string> Keywords { get; } = [];

    /// <summary><c>exact</c> (the default) or <c>contains</c>.</summary>
    public string? Match { get; set; }

    public List<AutoReplyMessageRegistration> Messages { get; } = [];
}

/// <summary>A reply message from configuration; only <c>text</c> messages can be written there.</summary>
public sealed class AutoReplyMessageRegistration
{
    /// <summary><c>text</c> when absent.</summary>
    public string? Type { get; set; }

    public string? Text { get; set; }
}

/// <summary>The channels <see cref="ChannelBootstrapper"/> registers: <c>Stepcast:Channels</c>, plus the sandbox's in the embedded host.</summary>
public sealed class ChannelBootstrapOptions
{
    public const string SectionName = "Stepcast:Channels";

    public List<ChannelRegistration> Channels { get; } = [];
}

/// <summary>
/// Registers (or updates) the channels listed in configuration at start, until channels get a management API.
/// Configuration wins: a listed channel's secret, token and auto-reply rules are written on every start (no rules
/// listed removes the channel's rules). Nothing secret is logged.
/// </summary>
public sealed partial class ChannelBootstrapper(
    ChannelSettingsCache channels,
    IGrainFactory grains,
    IOptions<ChannelBootstrapOptions> options,
    TimeProvider timeProvider,
    ILogger<ChannelBootstrapper> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Validate everything first, so a typo in the third channel does not leave the first two half-applied.
        var registrations = options.Value.Channels
            .Select((registration, index) => (Settings: ToSettings(registration, index), AutoReplies: ToAutoReplies(registration, index), Quota: ToQuota(registration, index)))
            .ToList();
        foreach (var (channel, autoReplies, quota) in registrations)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await StartupCalls.RetryAsync(() => channels.ConfigureAsync(channel), $"register channel {channel.ChannelId}", timeProvider, logger, cancellationToken);
            IReadOnlyList<ValidationProblem> problems = [];
            await StartupCalls.RetryAsync(
                async () => problems = await grains.GetGrain<IChannelGrain>(channel.ChannelId).SetAutoReplies(autoReplies),
                $"auto-replies of channel {channel.ChannelId}", timeProvider, logger, cancellationToken);
            if (problems.Count > 0)
            {
                throw new InvalidOperationException($"Auto-replies of channel {channel.ChannelId} refused: {string.Join(" ", problems.Select(p => $"{p.Path}: {p.Message}"))}");
            }

            if (quota is not null)
            {
                await StartupCalls.RetryAsync(
                    () => grains.GetGrain<IPlanQuotaGrain>(channel.ChannelId).Configure(quota with { TimeZone = channel.TimeZone }),
                    $"plan of channel {channel.ChannelId}", timeProvider, logger, cancellationToken);
            }

            LogRegistered(channel.ChannelId, channel.AccessToken is not null, channel.TimeZone, autoReplies.Length);
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

    private static QuotaSettings? ToQuota(ChannelRegistration registration, int index)
    {
        if (string.IsNullOrWhiteSpace(registration.Plan))
        {
            return null;
        }

        var where = $"{ChannelBootstrapOptions.SectionName}:{index}";
        var configured = new RawQuotaSettings
        {
            Plan = registration.Plan,
            ExtraMessageCap = registration.ExtraMessageCap,
            CustomMonthlyLimit = registration.CustomMonthlyLimit,
            // Configuration can empty a key but not remove it: empty means not set.
            WhenExhausted = string.IsNullOrWhiteSpace(registration.WhenExhausted) ? null : registration.WhenExhausted,
        };
        if (!QuotaSettingsValidator.TryApply(configured, new QuotaSettings(), out var quota, out var problems))
        {
            throw new InvalidOperationException(
                $"Plan of channel {registration.ChannelId} is invalid: {string.Join(" ", problems.Select(p => $"{ConfigurationPath(where, p.Path)} {p.Message}"))}");
        }

        return quota;
    }

    private static ImmutableArray<AutoReplyRule> ToAutoReplies(ChannelRegistration registration, int index)
    {
        var where = $"{ChannelBootstrapOptions.SectionName}:{index}:AutoReplies";
        var rules = ImmutableArray.CreateBuilder<AutoReplyRule>(registration.AutoReplies.Count);
        for (var m = 0; m < registration.AutoReplies.Count; m++)
        {
            var rule = registration.AutoReplies[m];
            var match = rule.Match?.Trim().ToLowerInvariant() switch
            {
                null or "" or "exact" => KeywordMatch.Exact,
                "contains" => KeywordMatch.Contains,
                _ => throw new InvalidOperationException($"{where}:{m}:Match '{rule.Match}' must be exact or contains."),
            };

            var messages = ImmutableArray.CreateBuilder<LineMessage>(rule.Messages.Count);
            for (var j = 0; j < rule.Messages.Count; j++)
            {
                var message = rule.Messages[j];
                if (!string.IsNullOrWhiteSpace(message.Type) && !string.Equals(message.Type.Trim(), "text", StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException($"{where}:{m}:Messages:{j}:Type '{message.Type}': only text messages can be configured here.");
                }

                messages.Add(LineMessage.Text(message.Text ?? ""));
            }

            rules.Add(new AutoReplyRule { Keywords = [.. rule.Keywords], Match = match, Messages = messages.MoveToImmutable() });
        }

        var result = rules.MoveToImmutable();
        var problems = AutoReplyValidator.Validate(result);
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(
                $"Auto-replies of channel {registration.ChannelId} are invalid: {string.Join(" ", problems.Select(p => $"{ConfigurationPath(where, p.Path)}: {p.Message}"))}");
        }

        return result;
    }

    /// <summary>A validator path such as <c>$[0].messages[1].text</c> as the configuration key that holds it: <c>…:AutoReplies:0:Messages:1:Text</c>.</summary>
    private static string ConfigurationPath(string where, string path) =>
        where + PathSegment().Replace(path.TrimStart('$'), segment => segment.Groups["index"].Success
            ? ":" + segment.Groups["index"].Value
            : ":" + char.ToUpperInvariant(segment.Groups["name"].Value[0]) + segment.Groups["name"].Value[1..]);

    [GeneratedRegex(@"\[(?<index>\d+)\]|\.(?<name>[A-Za-z]+)")]
    private static partial Regex PathSegment();

    [LoggerMessage(LogLevel.Information, "Registered channel {ChannelId} at start (access token: {HasAccessToken}, time zone {TimeZone}, auto-replies: {AutoReplyCount})")]
    private partial void LogRegistered(string channelId, bool hasAccessToken, string timeZone, int autoReplyCount);
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
