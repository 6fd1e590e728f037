using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Stepcast.Api.Management;
using Stepcast.Grains.Campaigns;
using Stepcast.Grains.Clicks;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Tests.Campaigns;

/// <summary>The pure parts of campaigns and click tracking: tokens, link numbering, audience parsing, ids.</summary>
public sealed class ClickAndAudienceTests
{
    private static ClickTokens Tokens(string key = "a-signing-key-for-tests") =>
        new(Options.Create(new ClickOptions { PublicBaseUrl = "https://stepcast.test/", SigningKey = key }));

    [Fact]
    public void A_click_token_reads_back_only_with_the_key_that_signed_it()
    {
        var target = new ClickTarget("1657000000", "U" + new string('a', 32), "spring-sale", 3, "hello", 1);
        var token = Tokens().Create(target);

        Assert.Equal(target, Tokens().Read(token));
        Assert.Null(Tokens("another-signing-key-entirely").Read(token));
        Assert.Null(Tokens().Read(token[..^1]));
        Assert.Null(Tokens().Read("!!"));
        Assert.StartsWith("https://stepcast.test/r/", Tokens().LinkFor(target));
    }

    [Fact]
    public void Tracked_links_are_uri_actions_and_text_urls_in_order_and_never_media()
    {
        LineMessage[] messages =
        [
            LineMessage.Text("See https://a.example/x and https://b.example/y."),
            new("""{"type":"image","originalContentUrl":"https://img.example/a.jpg","previewImageUrl":"https://img.example/a-s.jpg"}"""),
            new("""{"type":"template","altText":"t","template":{"type":"buttons","text":"https://not-a-link-here.example","actions":[{"type":"uri","label":"Go","uri":"https://c.example/z"},{"type":"postback","data":"a=1"}]}}"""),
        ];

        var replaced = TrackedLinks.Replace(messages, index => $"https://t.example/{index}");

        Assert.Equal("See https://t.example/0 and https://t.example/1.", JsonDocument.Parse(replaced[0].Json).RootElement.GetProperty("text").GetString());
        Assert.Equal(messages[1].Json, replaced[1].Json.Replace(" ", "", StringComparison.Ordinal));
        var template = JsonDocument.Parse(replaced[2].Json).RootElement.GetProperty("template");
        Assert.Equal("https://t.example/2", template.GetProperty("actions")[0].GetProperty("uri").GetString());
        Assert.Equal("https://not-a-link-here.example", template.GetProperty("text").GetString());
        Assert.Equal("https://b.example/y", TrackedLinks.Find(messages, 1));
        Assert.Equal("https://c.example/z", TrackedLinks.Find(messages, 2));
        Assert.Null(TrackedLinks.Find(messages, 3));
    }

    [Theory]
    [InlineData("U0123456789abcdef0123456789abcdef", true)]
    [InlineData("U0123456789ABCDEF0123456789abcdef", false)]
    [InlineData("C0123456789abcdef0123456789abcdef", false)]
    [InlineData("U0123456789abcdef0123456789abcde", false)]
    [InlineData("", false)]
    public void Line_user_ids_are_U_and_32_lowercase_hex_digits(string id, bool valid) =>
        Assert.Equal(valid, LineUserIds.IsValid(id));

    [Fact]
    public void An_idempotency_key_always_names_the_same_campaign_of_its_channel()
    {
        Assert.Equal(CampaignIds.For("ch", "key"), CampaignIds.For("ch", "key"));
        Assert.NotEqual(CampaignIds.For("ch", "key"), CampaignIds.For("other", "key"));
        Assert.NotEqual(CampaignIds.For("ch", null), CampaignIds.For("ch", null));
    }

    [Fact]
    public async Task The_audience_reader_takes_rows_as_they_come_and_drops_overlong_lines()
    {
        var pipe = new Pipe();
        var rows = new List<string>();
        var reading = Task.Run(async () =>
        {
            await foreach (var row in AudienceReader.ReadAsync(pipe.Reader, AudienceFormat.Ndjson, CancellationToken.None))
            {
                rows.Add(row);
            }
        });

        await pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes("\"Ua\"\n{\"lineUserId\":\"Ub\"}\r\n\n\"U"));
        await pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes("c\"\n" + new string('x', AudienceReader.MaxLineBytes * 3)));
        await pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes(new string('y', 10) + "\n\"Ud\""));
        await pipe.Writer.CompleteAsync();
        await reading;

        Assert.Equal(["Ua", "Ub", "Uc", "(line too long)", "Ud"], rows);
    }
}
