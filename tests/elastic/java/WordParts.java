// The analysis chain of shipper's `default` analyzer (shipper/elastic/templates.py, WORD_PARTS_ANALYSIS),
// built from the Lucene classes Elasticsearch's analysis-common module wraps, with the flags its
// word_delimiter_graph factory derives from those settings (generate_word_parts, generate_number_parts:
// defaults true; preserve_original: true; split_on_case_change, split_on_numerics,
// stem_english_possessive: false). Prints each argument's tokens, one line per argument, space-separated.
import java.io.StringReader;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.core.FlattenGraphFilter;
import org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter;
import org.apache.lucene.analysis.miscellaneous.WordDelimiterIterator;
import org.apache.lucene.analysis.standard.StandardTokenizer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;

public class WordParts {
    public static void main(String[] args) throws Exception {
        int flags = WordDelimiterGraphFilter.GENERATE_WORD_PARTS | WordDelimiterGraphFilter.GENERATE_NUMBER_PARTS
            | WordDelimiterGraphFilter.PRESERVE_ORIGINAL;
        for (String text : args) {
            StandardTokenizer tokenizer = new StandardTokenizer();
            tokenizer.setReader(new StringReader(text));
            TokenStream stream = new LowerCaseFilter(new FlattenGraphFilter(
                new WordDelimiterGraphFilter(tokenizer, true, WordDelimiterIterator.DEFAULT_WORD_DELIM_TABLE, flags, null)));
            CharTermAttribute term = stream.addAttribute(CharTermAttribute.class);
            stream.reset();
            StringBuilder out = new StringBuilder();
            while (stream.incrementToken()) {
                out.append(out.length() == 0 ? "" : " ").append(term);
            }
            stream.end();
            stream.close();
            System.out.println(out);
        }
    }
}
