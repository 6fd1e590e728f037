using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Campaigns;

/// <summary>
/// The embedded host as a tenant's systems see it (one tenant, a key with every scope), with progress and stats
/// reported every 200 ms instead of every second.
/// </summary>
public sealed class CampaignHostFactory : WebApplicationFactory<Program>
{
    public const string PublicBaseUrl = "http://stepcast.test";
    private const string BootstrapToken = "campaign-tests-bootstrap-token";

    private readonly SemaphoreSlim _tenantLock = new(1, 1);
    private string? _key;

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Stepcast:Api:BootstrapToken", BootstrapToken);
        builder.UseSetting("Stepcast:Engine:CatalogCacheDuration", "00:00:00");
        builder.UseSetting("Stepcast:Stats:FlushInterval", "00:00:00.200");
        builder.UseSetting("Stepcast:Campaigns:ProgressInterval", "00:00:00.200");
        builder.UseSetting("Stepcast:Clicks:PublicBaseUrl", PublicBaseUrl);
    }

    /// <summary>A client with the tenant's key. No redirect handling: it would buffer request bodies, and uploads here must stream.</summary>
    public async Task<HttpClient> ClientAsync()
    {
        var http = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await KeyAsync());
        return http;
    }

    /// <summary>Registers a channel of the tenant (no access token: deliveries go to the sandbox recorder).</summary>
    public async Task<string> NewChannelAsync(string prefix)
    {
        var channelId = $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";
        using var http = await ClientAsync();
        var response = await http.PostAsJsonAsync("/api/v1/channels", new { channelId, channelSecret = "secret-" + channelId, plan = "light", timeZone = "Asia/Tokyo" });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return channelId;
    }

    private async Task<string> KeyAsync()
    {
        await _tenantLock.WaitAsync();
        try
        {
            if (_key is null)
            {
                var tenantId = "t-" + Guid.NewGuid().ToString("N")[..10];
                using var admin = CreateClient();
                admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BootstrapToken);
                (await admin.PostAsJsonAsync("/api/v1/tenants", new { tenantId, name = "Campaign tests" })).EnsureSuccessStatusCode();
                var created = await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/api-keys", new { name = "campaigns", scopes = new[] { "read", "write", "send" } });
                created.EnsureSuccessStatusCode();
                _key = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
            }

            return _key;
        }
        finally
        {
            _tenantLock.Release();
        }
    }

    public async Task PublishAsync(ScenarioDefinition scenario)
    {
        var grain = Grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(scenario.ChannelId, scenario.Id));
        Assert.Empty(await grain.SaveDraft(scenario));
        Assert.True((await grain.Publish()).Published);
    }

    /// <summary>Friends who followed the account (the only ones a campaign enrols by default).</summary>
    public async Task<string[]> FollowersAsync(string channelId, int count, Func<int, UpdateProfileCommand?>? profile = null)
    {
        var ids = Enumerable.Range(0, count).Select(_ => NewLineUserId()).ToArray();
        for (var i = 0; i < ids.Length; i++)
        {
            var friend = Grains.GetFriend(channelId, ids[i]);
            await friend.Follow(new FollowCommand { At = DateTimeOffset.UtcNow, DisplayName = $"Friend {i}" });
            if (profile?.Invoke(i) is { } update)
            {
                await friend.UpdateProfile(update);
            }
        }

        return ids;
    }

    public static string NewLineUserId() => "U" + Guid.NewGuid().ToString("N");

    /// <summary>A scenario an API client starts: one send, then a month's wait before the next.</summary>
    public static ScenarioDefinition CampaignScenario(string channelId, string id = "spring-sale") => new()
    {
        Id = id,
        Title = id,
        ChannelId = channelId,
        Triggers = [new ApiTrigger()],
        Steps =
        [
            new SendStep { Id = "hello", Messages = [LineMessage.Text("Spring sale starts today")] },
            new WaitStep { Id = "a-month", Days = 30 },
            new SendStep { Id = "reminder", Messages = [LineMessage.Text("Last days of the sale")] },
        ],
    };

    public static HttpContent Ndjson(IEnumerable<string> lines) =>
        new StringContent(string.Join('\n', lines) + "\n", Encoding.UTF8, "application/x-ndjson");

    public static Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done) => Eventually.UntilAsync(read, done);

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>();
}

/// <summary>A request body that sends its first part, then waits for the test before sending the rest.</summary>
public sealed class GatedContent(string mediaType, string first, string rest, Task gate) : HttpContent
{
    public GatedContent(string first, string rest, Task gate) : this("application/x-ndjson", first, rest, gate)
    {
    }

    public GatedContent Typed()
    {
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType);
        return this;
    }

    protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(first));
        await stream.FlushAsync();
        await gate;
        await stream.WriteAsync(Encoding.UTF8.GetBytes(rest));
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
