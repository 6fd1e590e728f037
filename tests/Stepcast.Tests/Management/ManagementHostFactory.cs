using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Stepcast.Api.Management;
using Stepcast.FakeLine;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Quota;
using Stepcast.Tests.Api;

namespace Stepcast.Tests.Management;

/// <summary>
/// The embedded host with bootstrapping on and a fake LINE for profiles.
/// </summary>
public sealed class ManagementHostFactory : WebApplicationFactory<Program>
{
    public const string BootstrapToken = "test-bootstrap-token-7f3a";

    private readonly FakeLineServer _line = FakeLineServer.StartAsync().GetAwaiter().GetResult();

    public FakeLineServer Line => _line;

    public SandboxDeliveryRecorder Deliveries => Services.GetRequiredService<SandboxDeliveryRecorder>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Stepcast:Api:BootstrapToken", BootstrapToken);
        builder.UseSetting("Line:ApiBaseUrl", _line.BaseUrl);
        builder.UseSetting("Stepcast:Engine:CatalogCacheDuration", "00:00:00");
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _line.DisposeAsync();
    }

    /// <summary>A new tenant with one key holding every scope (through the bootstrap token); ids are unique per call.</summary>
    public async Task<TenantClient> NewTenantAsync()
    {
        var tenantId = "t-" + Guid.NewGuid().ToString("N")[..10];
        var admin = CreateClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BootstrapToken);
        (await admin.PostAsJsonAsync("/api/v1/tenants", new { tenantId, name = "Brand " + tenantId })).EnsureSuccessStatusCode();
        var created = await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/api-keys", new { name = "first", scopes = new[] { "read", "write", "send" } });
        created.EnsureSuccessStatusCode();
        var key = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        return new TenantClient(this, tenantId, key);
    }
}

/// <summary>A tenant as its own systems see the API: an HTTP client with the tenant's key.</summary>
public sealed class TenantClient
{
    private readonly ManagementHostFactory _host;

    public TenantClient(ManagementHostFactory host, string tenantId, string key)
    {
        _host = host;
        TenantId = tenantId;
        Key = key;
        Http = WithKey(key);
    }

    public string TenantId { get; }

    public string Key { get; }

    public HttpClient Http { get; }

    public HttpClient WithKey(string? key)
    {
        var http = _host.CreateClient();
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return http;
    }

    /// <summary>A further key of this tenant with only the given scopes.</summary>
    public async Task<HttpClient> WithScopesAsync(params string[] scopes)
    {
        var created = await Http.PostAsJsonAsync("/api/v1/tenant/api-keys", new { name = string.Join("+", scopes), scopes });
        created.EnsureSuccessStatusCode();
        return WithKey((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());
    }

    /// <summary>Registers a sandbox channel (no access token: deliveries go to the recorder); returns its id.</summary>
    public async Task<string> NewChannelAsync(string? accessToken = null)
    {
        var channelId = "c-" + Guid.NewGuid().ToString("N")[..12];
        var response = await Http.PostAsJsonAsync("/api/v1/channels", new
        {
            channelId,
            channelSecret = "secret-" + channelId,
            accessToken,
            plan = "light",
            timeZone = "Asia/Tokyo",
        });
        response.EnsureSuccessStatusCode();
        return channelId;
    }

    /// <summary>Creates and publishes a scenario given as JSON text with <c>CHANNEL</c> standing for the channel id.</summary>
    public async Task PublishAsync(string channelId, string scenarioJson)
    {
        var json = scenarioJson.Replace("CHANNEL", channelId, StringComparison.Ordinal);
        var id = JsonDocument.Parse(json).RootElement.GetProperty("id").GetString();
        var created = await Http.PostAsync($"/api/v1/channels/{channelId}/scenarios", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var published = await Http.PostAsync($"/api/v1/channels/{channelId}/scenarios/{id}/publish", null);
        Assert.True(published.IsSuccessStatusCode, await published.Content.ReadAsStringAsync());
    }
}

public static class Problems
{
    public static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, System.Net.HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {status}, got {response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(body).RootElement;
    }

    public static async Task<JsonElement> AssertFieldAsync(HttpResponseMessage response, string field)
    {
        var problem = await AssertProblemAsync(response, System.Net.HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"No error for '{field}' in {problem}");
        return problem;
    }
}

