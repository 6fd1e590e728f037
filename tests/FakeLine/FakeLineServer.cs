using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Stepcast.FakeLine;

/// <summary>
/// A stand-in for api.line.me on loopback, for tests and load runs: accepts and records sends, honours retry keys,
/// enforces a monthly quota and per-second rate limits, and injects faults on demand. Start it in-process with
/// <see cref="StartAsync(FakeLineOptions?, CancellationToken)"/> or run the project standalone.
/// </summary>
/// <remarks>
/// Control endpoints for out-of-process use: <c>GET|DELETE /_fake/deliveries</c>, <c>POST|DELETE /_fake/faults</c>
/// (body: a <see cref="FakeLineFault"/>), <c>POST /_fake/quota</c> (body: a <see cref="FakeLineQuotaSetting"/>),
/// <c>POST /_fake/reset</c>.
/// </remarks>
public sealed class FakeLineServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly FakeLineApi _api;
    private readonly FakeLineChannels _channels;

    private FakeLineServer(WebApplication app, FakeLineOptions options, FakeLineApi api, FakeLineChannels channels,
        FakeLineDeliveryStore deliveries, FakeLineFaultInjector faults, FakeLineStats stats, string baseUrl)
    {
        Stats = stats;
        _app = app;
        _api = api;
        _channels = channels;
        Options = options;
        Deliveries = deliveries;
        Faults = faults;
        BaseUrl = baseUrl;
    }

    /// <summary>Where the server listens, e.g. <c>http://127.0.0.1:41234</c> (no trailing slash); use it as the client's API base URL.</summary>
    public string BaseUrl { get; }

    public FakeLineOptions Options { get; }

    /// <summary>Every accepted send.</summary>
    public FakeLineDeliveryStore Deliveries { get; }

    /// <summary>Requests and 429s per channel and endpoint.</summary>
    public FakeLineStats Stats { get; }

    /// <summary>Faults to inject into coming requests.</summary>
    public FakeLineFaultInjector Faults { get; }

    /// <summary>Audience groups created by uploads, by ID.</summary>
    public IReadOnlyDictionary<long, IReadOnlyList<string>> AudienceGroups => _api.AudienceGroups;

    /// <summary>Starts a server with <paramref name="options"/> (default: unlimited, free loopback port).</summary>
    public static Task<FakeLineServer> StartAsync(FakeLineOptions? options = null, CancellationToken cancellationToken = default) =>
        StartAsync(options, [], cancellationToken);

    /// <summary>
    /// Starts a server; <paramref name="args"/> are host arguments (<c>--urls</c>, <c>--FakeLine:MonthlyQuota=…</c>),
    /// used for options when <paramref name="options"/> is null.
    /// </summary>
    public static async Task<FakeLineServer> StartAsync(FakeLineOptions? options, string[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args });

        // Per-request logging would cost more than the fake's own work under load.
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Only the standalone program takes its address from configuration: in-process, a host's appsettings
        // copied next to the tests (with its own "Urls") must not decide where the fake listens.
        var standalone = options is null;
        options ??= FakeLineOptions.FromConfiguration(builder.Configuration);
        var url = options.Url ?? (standalone ? builder.Configuration["urls"] : null) ?? "http://127.0.0.1:0";
        builder.WebHost.UseUrls(url);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);

        var deliveries = new FakeLineDeliveryStore();
        var faults = new FakeLineFaultInjector();
        var channels = new FakeLineChannels(options);
        var stats = new FakeLineStats();
        var api = new FakeLineApi(options, deliveries, faults, channels, stats);

        var app = builder.Build();
        api.Map(app);

        var server = default(FakeLineServer);
        MapControl(app, () => server!);

        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new FakeLineServer(app, options, api, channels, deliveries, faults, stats, address.TrimEnd('/'));
        return server;
    }

    /// <summary>Sets one channel's monthly limit (null: unlimited), overriding <see cref="FakeLineOptions.MonthlyQuota"/>.</summary>
    public void SetMonthlyQuota(string channelAccessToken, long? limit) => _channels.SetMonthlyQuota(channelAccessToken, limit);

    /// <summary>Messages counted against a channel's quota this month.</summary>
    public long GetQuotaUsage(string channelAccessToken) => _channels.GetQuota(channelAccessToken).Used;

    /// <summary>Messages the account sent outside Stepcast (e.g. from LINE Official Account Manager) this month.</summary>
    public void SendOutsideStepcast(string channelAccessToken, long messages) => _channels.TryConsumeQuota(channelAccessToken, messages);

    /// <summary>Forgets deliveries, retry keys, quota usage and overrides, rate windows, narrowcasts, audiences and faults.</summary>
    public void Reset()
    {
        Deliveries.Clear();
        Faults.Clear();
        Stats.Clear();
        _channels.Reset();
        _api.Reset();
    }

    /// <summary>Completes when the host is asked to stop (Ctrl+C when standalone).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static void MapControl(WebApplication app, Func<FakeLineServer> server)
    {
        var control = app.MapGroup("/_fake");
        control.MapGet("/deliveries", context =>
        {
            context.Response.ContentType = "application/json";
            return JsonSerializer.SerializeAsync(
                context.Response.Body, server().Deliveries.Snapshot(), FakeLineJsonContext.Default.IReadOnlyListFakeLineDelivery,
                context.RequestAborted);
        });
        control.MapDelete("/deliveries", context =>
        {
            server().Deliveries.Clear();
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        });
        control.MapPost("/faults", async context =>
        {
            var fault = await ReadAsync(context, FakeLineJsonContext.Default.FakeLineFault);
            if (fault is not null)
            {
                server().Faults.Add(fault);
            }
        });
        control.MapDelete("/faults", context =>
        {
            server().Faults.Clear();
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        });
        control.MapPost("/quota", async context =>
        {
            var setting = await ReadAsync(context, FakeLineJsonContext.Default.FakeLineQuotaSetting);
            if (setting is not null)
            {
                server().SetMonthlyQuota(setting.ChannelAccessToken, setting.Limit);
            }
        });
        control.MapPost("/reset", context =>
        {
            server().Reset();
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        });
    }

    private static async Task<T?> ReadAsync<T>(HttpContext context, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
        where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync(context.Request.Body, typeInfo, context.RequestAborted);
            context.Response.StatusCode = value is null ? StatusCodes.Status400BadRequest : StatusCodes.Status204NoContent;
            return value;
        }
        catch (JsonException exception)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync(exception.Message, context.RequestAborted);
            return null;
        }
    }
}
