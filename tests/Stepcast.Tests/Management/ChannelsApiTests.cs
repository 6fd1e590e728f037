using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Quota;
using Stepcast.Tests.Api;
using Microsoft.Extensions.DependencyInjection;

namespace Stepcast.Tests.Management;

[Collection(EmbeddedHostCollection.Name)]
public sealed class ChannelsApiTests(ManagementHostFactory host) : IClassFixture<ManagementHostFactory>
{
    private IGrainFactory Grains => host.Services.GetRequiredService<IGrainFactory>();

    [Fact]
    public async Task A_registered_channel_keeps_its_secrets_and_never_returns_them()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = "c-" + Guid.NewGuid().ToString("N")[..12];

        var created = await tenant.Http.PostAsJsonAsync("/api/v1/channels", new
        {
            channelId, channelSecret = "s3cret-value", accessToken = "t0ken-value", plan = "standard", extraMessageCap = 1000,
            whenExhausted = "skip", timeZone = "Asia/Tokyo",
        });
        var createdBody = await created.Content.ReadAsStringAsync();
        var read = await tenant.Http.GetStringAsync($"/api/v1/channels/{channelId}");
        var listed = await tenant.Http.GetStringAsync("/api/v1/channels");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        foreach (var body in new[] { createdBody, read, listed })
        {
            Assert.DoesNotContain("s3cret-value", body);
            Assert.DoesNotContain("t0ken-value", body);
        }

        var channel = JsonDocument.Parse(read).RootElement;
        Assert.Equal("standard", channel.GetProperty("plan").GetString());
        Assert.True(channel.GetProperty("hasAccessToken").GetBoolean());
        var settings = await Grains.GetGrain<IChannelGrain>(channelId).GetSettings();
        Assert.Equal("s3cret-value", settings!.ChannelSecret);
        Assert.Equal("t0ken-value", settings.AccessToken);
        var plan = await Grains.GetGrain<IPlanQuotaGrain>(channelId).GetSettings();
        Assert.Equal(LinePlan.Standard, plan.Plan);
        Assert.Equal(31_000, plan.MonthlyLimit);
        Assert.Equal(QuotaExhaustedPolicy.Skip, plan.WhenExhausted);
    }

    [Fact]
    public async Task Rotating_the_token_replaces_it_without_echoing_it()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync(accessToken: "old-token");

        var rotated = await tenant.Http.PutAsJsonAsync($"/api/v1/channels/{channelId}/access-token", new { accessToken = "new-token-9" });

        Assert.Equal(HttpStatusCode.NoContent, rotated.StatusCode);
        Assert.Empty(await rotated.Content.ReadAsStringAsync());
        Assert.Equal("new-token-9", (await Grains.GetGrain<IChannelGrain>(channelId).GetSettings())!.AccessToken);
        Assert.DoesNotContain("new-token-9", await tenant.Http.GetStringAsync($"/api/v1/channels/{channelId}"));
    }

    [Fact]
    public async Task A_channel_belongs_to_the_first_tenant_that_registers_it()
    {
        var first = await host.NewTenantAsync();
        var channelId = await first.NewChannelAsync();
        var second = await host.NewTenantAsync();

        var response = await second.Http.PostAsJsonAsync("/api/v1/channels", new { channelId, channelSecret = "mine-now" });

        await Problems.AssertProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Equal("secret-" + channelId, (await Grains.GetGrain<IChannelGrain>(channelId).GetSettings())!.ChannelSecret);
    }

    [Theory]
    [InlineData("channelId", """{"channelSecret":"s"}""")]
    [InlineData("channelId", """{"channelId":"a/b","channelSecret":"s"}""")]
    [InlineData("channelSecret", """{"channelId":"ok-1"}""")]
    [InlineData("timeZone", """{"channelId":"ok-1","channelSecret":"s","timeZone":"Mars/Olympus"}""")]
    [InlineData("plan", """{"channelId":"ok-1","channelSecret":"s","plan":"platinum"}""")]
    [InlineData("plan", """{"channelId":"ok-1","channelSecret":"s","plan":"custom"}""")]
    [InlineData("extraMessageCap", """{"channelId":"ok-1","channelSecret":"s","plan":"light","extraMessageCap":10}""")]
    [InlineData("whenExhausted", """{"channelId":"ok-1","channelSecret":"s","whenExhausted":"panic"}""")]
    public async Task Registration_problems_name_the_field(string field, string body)
    {
        var tenant = await host.NewTenantAsync();

        var response = await tenant.Http.PostAsync("/api/v1/channels", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        await Problems.AssertFieldAsync(response, field);
    }

    [Fact]
    public async Task Channels_are_listed_a_page_at_a_time_with_a_cursor()
    {
        var tenant = await host.NewTenantAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await tenant.NewChannelAsync());
        }

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await tenant.Http.GetFromJsonAsync<JsonElement>($"/api/v1/channels?limit=2{(cursor is null ? "" : "&cursor=" + cursor)}");
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("channelId").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(ids.Order(StringComparer.Ordinal), seen);
        await Problems.AssertFieldAsync(await tenant.Http.GetAsync("/api/v1/channels?cursor=garbage!"), "cursor");
        await Problems.AssertFieldAsync(await tenant.Http.GetAsync("/api/v1/channels?limit=0"), "limit");
    }
}
