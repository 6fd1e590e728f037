using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Stepcast.HangfireBaseline;

/// <summary>
/// The Hangfire job: one push to LINE through HttpClient. A failure throws, and Hangfire's automatic retry runs the
/// job again later; the retry key (derived from friend and step) makes LINE drop a repeat of an accepted push.
/// </summary>
public sealed class LinePushJob(HttpClient http, IOptions<BaselineOptions> options)
{
    public async Task SendAsync(string userId, int step, string text)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(options.Value.LineApiBaseUrl, "/v2/bot/message/push"))
        {
            Content = JsonContent.Create(new { to = userId, messages = new[] { new { type = "text", text } } }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Value.AccessToken);
        request.Headers.Add("X-Line-Retry-Key", RetryKey(userId, step).ToString());
        using var response = await http.SendAsync(request);
        if (response.StatusCode != System.Net.HttpStatusCode.Conflict)
        {
            response.EnsureSuccessStatusCode();
        }
    }

    private static Guid RetryKey(string userId, int step)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{userId}/{step}"));
        // LINE wants a UUID: version 4 and variant bits set on the hash's first 16 bytes.
        hash[6] = (byte)((hash[6] & 0x0F) | 0x40);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}
