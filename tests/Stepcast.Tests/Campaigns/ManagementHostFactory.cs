using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Tests.Campaigns;

/// <summary>The embedded host as API clients see it, with progress and stats reported every 200 ms instead of every second.</summary>
public sealed class ManagementHostFactory : WebApplicationFactory<Program>
{
    public const string PublicBaseUrl = "http://stepcast.test";

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Stepcast:Engine:CatalogCacheDuration", "00:00:00");
        builder.UseSetting("Stepcast:Stats:FlushInterval", "00:00:00.200");
        builder.UseSetting("Stepcast:Campaigns:ProgressInterval", "00:00:00.200");
        builder.UseSetting("Stepcast:Clicks:PublicBaseUrl", PublicBaseUrl);
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

    public static string NewChannel(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

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

    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(100);
        }
    }

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
