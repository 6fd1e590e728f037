using System.Text.Json;
using System.Text.Json.Nodes;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Tests.Domain;

public sealed class MessagePersonalizerTests
{
    private static readonly Dictionary<string, string> Values = new()
    {
        ["displayName"] = "山田 花子",
        ["points"] = "1,200",
        ["loyalty.rank"] = "Gold",
    };

    [Fact]
    public void Japanese_text_gets_the_display_name()
    {
        var rendered = MessagePersonalizer.Render(LineMessage.Text("{displayName}さん、友だち追加ありがとうございます！"), Values);

        Assert.Equal("山田 花子さん、友だち追加ありがとうございます！", Text(rendered));
        Assert.Contains("山田", rendered.Json, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_placeholders_in_one_string_are_all_filled()
    {
        var rendered = MessagePersonalizer.Render(LineMessage.Text("{displayName}: {points} pt ({loyalty.rank})"), Values);

        Assert.Equal("山田 花子: 1,200 pt (Gold)", Text(rendered));
    }

    [Fact]
    public void Unknown_placeholders_stay_as_written()
    {
        var rendered = MessagePersonalizer.Render(LineMessage.Text("{displayName} {nickname} {not a placeholder} {}"), Values);

        Assert.Equal("山田 花子 {nickname} {not a placeholder} {}", Text(rendered));
    }

    [Fact]
    public void Values_with_quotes_and_braces_keep_the_json_valid_and_are_not_expanded_again()
    {
        var values = new Dictionary<string, string> { ["displayName"] = "\"Bob\"\n{points}", ["points"] = "10" };

        var rendered = MessagePersonalizer.Render(LineMessage.Text("Hi {displayName}"), values);

        Assert.Equal("Hi \"Bob\"\n{points}", Text(rendered));
    }

    [Fact]
    public void Flex_message_placeholders_are_filled_at_any_depth_but_property_names_are_not()
    {
        var flex = new LineMessage("""
            {
              "type": "flex",
              "altText": "{displayName}さんへのお知らせ",
              "contents": {
                "type": "bubble",
                "body": {
                  "type": "box",
                  "layout": "vertical",
                  "contents": [
                    { "type": "text", "text": "ランク: {loyalty.rank}", "size": "sm", "flex": 1 },
                    { "type": "text", "text": "{points} ポイント", "wrap": true }
                  ]
                },
                "{displayName}": "a property name is never a placeholder"
              }
            }
            """);

        var rendered = JsonNode.Parse(MessagePersonalizer.Render(flex, Values).Json)!;

        Assert.Equal("山田 花子さんへのお知らせ", (string?)rendered["altText"]);
        var contents = rendered["contents"]!["body"]!["contents"]!.AsArray();
        Assert.Equal("ランク: Gold", (string?)contents[0]!["text"]);
        Assert.Equal(1, (int?)contents[0]!["flex"]);
        Assert.Equal("1,200 ポイント", (string?)contents[1]!["text"]);
        Assert.True((bool?)contents[1]!["wrap"]);
        Assert.NotNull(rendered["contents"]!["{displayName}"]);
    }

    [Fact]
    public void A_message_without_placeholders_is_returned_unchanged()
    {
        var message = new LineMessage("""{"type":"sticker","packageId":"446","stickerId":"1988"}""");

        Assert.Same(message, MessagePersonalizer.Render(message, Values));
    }

    [Fact]
    public void Is_personalized_when_any_string_value_has_a_placeholder()
    {
        Assert.True(MessagePersonalizer.IsPersonalized(LineMessage.Text("こんにちは {displayName}さん")));
        Assert.True(MessagePersonalizer.IsPersonalized(new LineMessage(
            """{"type":"template","altText":"x","template":{"type":"buttons","text":"{couponCode}","actions":[]}}""")));
        Assert.False(MessagePersonalizer.IsPersonalized(LineMessage.Text("セール開催中 {ご来店ください}")));
        Assert.False(MessagePersonalizer.IsPersonalized(new LineMessage("""{"type":"text","{displayName}":"x","text":"hi"}""")));
    }

    private static string? Text(LineMessage message)
    {
        using var document = JsonDocument.Parse(message.Json);
        return document.RootElement.GetProperty("text").GetString();
    }
}
