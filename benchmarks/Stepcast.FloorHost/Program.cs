using System.Text.Json;
using Orleans.Providers;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using Stepcast.FloorHost;
using Stepcast.Grains.Line.Webhooks;
using Stepcast.Silo.Embedded;

// The floor under Stepcast's webhook ingest: the same HTTP surface and signature check (Stepcast's LineSignature),
// then as little as the fixed design allows (Floor:Depth): "http" answers at once, "activate" calls a new grain per
// follow, "write" also has it write its state to the embedded topology's storage. What Stepcast spends per follow
// above this is its own. The floor under a multicast burst is POST /enrollments (the Hangfire baseline's shape): each
// friend waits on a grain timer, is sent by its silo's FloorMulticaster with those due with it, and writes once.
var builder = WebApplication.CreateBuilder(args);
var depth = builder.Configuration["Floor:Depth"] ?? "write";
if (depth is not ("http" or "activate" or "write"))
{
    throw new InvalidOperationException($"Floor:Depth is '{depth}'; expected http, activate or write.");
}

var secret = builder.Configuration["Floor:ChannelSecret"] ?? throw new InvalidOperationException("Floor:ChannelSecret is required.");
builder.Logging.AddFilter("Orleans", LogLevel.Warning);
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering(
        int.Parse(builder.Configuration["Floor:SiloPort"] ?? "11111", System.Globalization.CultureInfo.InvariantCulture),
        int.Parse(builder.Configuration["Floor:GatewayPort"] ?? "30000", System.Globalization.CultureInfo.InvariantCulture));
    silo.Services.AddGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME,
        (services, _) => new InProcessGrainStorage(services.GetRequiredService<Serializer>()));
});

builder.Services.AddHttpClient(nameof(FloorMulticaster), http =>
{
    http.BaseAddress = new Uri((builder.Configuration["Line:ApiBaseUrl"] ?? "http://127.0.0.1:5080").TrimEnd('/') + "/");
    http.DefaultRequestHeaders.Authorization = new("Bearer", builder.Configuration["Stepcast:Channels:0:AccessToken"] ?? "bench-access-token");
});
builder.Services.AddSingleton(services => new FloorMulticaster(
    services.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(FloorMulticaster)),
    services.GetService<TimeProvider>() ?? TimeProvider.System));

var app = builder.Build();
app.MapPost("/enrollments", async (FloorEnrollments enrollments, IGrainFactory grains) =>
{
    await Task.WhenAll(enrollments.UserIds.Select(id => grains.GetGrain<IFloorFriendGrain>(id).Enroll(enrollments.DueAt)));
    return Results.Ok();
});
app.MapPost("/webhooks/line/{channelId}", async (string channelId, HttpRequest request, IGrainFactory grains) =>
{
    using var buffer = new MemoryStream();
    await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
    var body = buffer.ToArray();
    if (!LineSignature.IsValid(body, secret, request.Headers["x-line-signature"].ToString()))
    {
        return Results.Unauthorized();
    }

    if (depth == "http")
    {
        return Results.Ok();
    }

    using var document = JsonDocument.Parse(body);
    var follows = new List<Task>();
    foreach (var lineEvent in document.RootElement.GetProperty("events").EnumerateArray())
    {
        if (lineEvent.GetProperty("source").TryGetProperty("userId", out var userId) && userId.GetString() is { } friend)
        {
            follows.Add(grains.GetGrain<IFloorFriendGrain>($"{channelId}/{friend}").Follow(depth == "write"));
        }
    }

    await Task.WhenAll(follows);
    return Results.Ok();
});
app.Run();

/// <summary>The body of <c>POST /enrollments</c>, as the load harness sends it to the Hangfire baseline.</summary>
internal sealed record FloorEnrollments(IReadOnlyList<string> UserIds, DateTimeOffset DueAt);
